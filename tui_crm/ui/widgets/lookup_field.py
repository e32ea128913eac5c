"""A lookup value in a form: shows the target's name, enter opens the picker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from tui_crm.domain import FieldDef


@dataclass(frozen=True, slots=True)
class LookupChoice:
    """What the picker returns: the reference and the name to show for it."""

    entity: str
    id: str
    name: str


class LookupField(Static, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "pick", "Pick", id="lookup.pick"),
        Binding("delete,backspace", "clear", "Clear", id="lookup.clear"),
    ]

    class Changed(Message):
        def __init__(self, field: LookupField) -> None:
            super().__init__()
            self.field = field

    def __init__(self, field_def: FieldDef, target: dict[str, str] | None, *, id: str) -> None:
        super().__init__("", id=id, disabled=field_def.read_only)
        self.lookup_def = field_def
        self.target: dict[str, str] | None = dict(target) if target else None
        self._name = ""
        self._render_value()

    def set_target(self, target: dict[str, str] | None, name: str = "") -> None:
        self.target = dict(target) if target else None
        self._name = name
        self._render_value()
        self.post_message(self.Changed(self))

    def set_display_name(self, name: str) -> None:
        self._name = name
        self._render_value()

    def _render_value(self) -> None:
        if self.target is None:
            self.update("(none) — enter to pick")
        else:
            shown = self._name or "…"
            self.update(Text(f"{shown} ({self.target.get('entity', '?')})"))

    def action_pick(self) -> None:
        from tui_crm.ui.screens.lookup_picker import LookupPickerScreen

        def chosen(choice: LookupChoice | None) -> None:
            if choice is not None:
                self.set_target({"entity": choice.entity, "id": choice.id}, choice.name)

        self.app.push_screen(LookupPickerScreen(self.lookup_def), chosen)

    def action_clear(self) -> None:
        if self.target is not None:
            self.set_target(None)
