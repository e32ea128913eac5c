"""Pick the record a lookup points to, by searching the local store as you type."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from tui_crm.domain import DomainError, FieldDef
from tui_crm.ui.screens.base import CrmModal
from tui_crm.ui.widgets.lookup_field import LookupChoice
from tui_crm.ui.widgets.quiet import QuietInput

RESULT_LIMIT = 20
DEBOUNCE_SECONDS = 0.25


class LookupPickerScreen(CrmModal[LookupChoice | None]):
    HELP = "Type to search the records this field can point to; enter picks, escape cancels."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "results", "Results", id="picker.results", show=False),
    ]

    def __init__(self, field_def: FieldDef) -> None:
        super().__init__()
        self.field_def = field_def
        self.targets = list(field_def.targets) or []
        self.target = self.targets[0] if self.targets else ""
        self._debounce: Timer | None = None
        self._names: dict[str, tuple[str, str]] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(f"[b]{self.field_def.label}[/b]: pick a record", classes="dialog-title")
            if len(self.targets) > 1:
                yield Select(
                    [(name, name) for name in self.targets],
                    value=self.target,
                    allow_blank=False,
                    id="target",
                    compact=True,
                )
            yield QuietInput(placeholder="search…", id="query", compact=True)
            yield OptionList(id="results")

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self.search("")

    @on(Select.Changed, "#target")
    def target_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.target = event.value
            self.search(self.query_one("#query", Input).value)

    @on(Input.Changed, "#query")
    def query_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        text = event.value
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, lambda: self.search(text))

    @on(Input.Submitted, "#query")
    def query_submitted(self) -> None:
        self.action_results()

    @work(exclusive=True, group="lookup")
    async def search(self, text: str) -> None:
        if not self.target:
            return
        try:
            page = await self.records.list(
                self.target, search=text.strip() or None, limit=RESULT_LIMIT
            )
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        results = self.query_one("#results", OptionList)
        results.clear_options()
        self._names = {}
        for record in page.records:
            self._names[record.id] = (record.entity, record.name or record.id)
            results.add_option(Option(record.name or "(no name)", id=record.id))
        if results.option_count:
            results.highlighted = 0

    def action_results(self) -> None:
        results = self.query_one("#results", OptionList)
        if results.option_count:
            results.focus()

    @on(OptionList.OptionSelected, "#results")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        record_id = event.option.id
        if record_id is None or record_id not in self._names:
            return
        entity, name = self._names[record_id]
        self.dismiss(LookupChoice(entity=entity, id=record_id, name=name))

    def action_cancel(self) -> None:
        self.dismiss(None)
