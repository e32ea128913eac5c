"""Help: the keys of the screen underneath, their binding ids, and how to remap them."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui_crm.ui.screens.base import CrmModal

REMAP_HINT = (
    "Remap a key in the config file ({path}) under [keymap], by binding id, e.g.\n"
    '  [keymap]\n  "records.new" = "n,insert"\n'
    "Several keys are separated by commas. ctrl+p opens the command palette."
)


def describe_bindings(screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(keys, description, id) per binding active on `screen`, keys merged per binding.

    Built-in widget keys have no id (""), so they cannot be remapped by keymap.
    """
    merged: dict[tuple[int, str], tuple[list[str], Binding, int]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.system or not binding.description:
            continue
        # Rank: this screen's own keys, then the app-wide ones, then widgets' built-in
        # keys (no id, not remappable) — the top rows are visible at 80x24 without scrolling.
        if not binding.id:
            rank = 2
        elif active.node is screen.app:
            rank = 1
        else:
            rank = 0
        slot = (id(active.node), binding.action)
        keys, _, _ = merged.setdefault(slot, ([], binding, rank))
        display = screen.app.get_key_display(Binding(key, binding.action))
        if display not in keys:
            keys.append(display)
    ranked = sorted(
        (rank, binding.id or "", binding.description, " ".join(keys))
        for keys, binding, rank in merged.values()
    )
    return [(keys, description, binding_id) for _, binding_id, description, keys in ranked]


class HelpScreen(CrmModal[None]):
    HELP = "Escape or ? closes help."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
        Binding("j", "scroll_down", "Down", id="help.down", show=False),
        Binding("k", "scroll_up", "Up", id="help.up", show=False),
    ]

    def __init__(self, target: Screen[Any]) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        about = getattr(self.target, "HELP", "") or ""
        with Vertical(classes="help"):
            yield Static(f"[b]Help[/b] — {about}", id="about")
            table: DataTable[str] = DataTable(id="keys", cursor_type="row", show_cursor=True)
            yield table
            path = getattr(self.app, "config_path", "config.toml")
            yield Static(REMAP_HINT.format(path=path), id="remap", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#keys", DataTable)
        table.add_column("Keys", width=14, key="keys")
        table.add_column("Action", width=22, key="action")
        table.add_column("Binding id", width=22, key="id")
        for keys, description, binding_id in describe_bindings(self.target):
            table.add_row(keys, description, binding_id)
        table.focus()

    def action_close(self) -> None:
        self.dismiss()

    def action_scroll_down(self) -> None:
        self.query_one("#keys", DataTable).action_cursor_down()

    def action_scroll_up(self) -> None:
        self.query_one("#keys", DataTable).action_cursor_up()
