"""The visiting order for the records marked on the Nearby screen, with leg and total distances."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from tui_crm.services.nearby import NearbyHit, Route, format_distance
from tui_crm.ui.screens.base import CrmModal


def route_lines(route: Route[Any]) -> list[str]:
    """One line a stop: order, name, leg distance; the total last."""
    lines = []
    for index, (stop, leg) in enumerate(zip(route.stops, route.legs_m, strict=True), start=1):
        hit: NearbyHit = stop.item
        lines.append(f"{index:>2}. {hit.name or hit.id}  +{format_distance(leg)}")
    lines.append(f"Total {format_distance(route.total_m)} from here")
    return lines


class RouteModal(CrmModal[None]):
    HELP = "The order to visit the marked records: nearest first, then shortened by 2-opt."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", "Close", id="route.close"),
    ]

    def __init__(self, route: Route[Any]) -> None:
        super().__init__()
        self.route = route

    def compose(self) -> ComposeResult:
        with Vertical(id="route-box"):
            yield Static("[b]Route[/b]", classes="screen-title")
            yield Static("\n".join(route_lines(self.route)), id="route-lines", markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
