"""Records whose lookup points at one record (contacts of an account, its activities…)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from tui_crm.domain import DomainError, EntityDef, Record
from tui_crm.ui.glyphs import glyph_for
from tui_crm.ui.screens.base import CrmScreen


class RelatedScreen(CrmScreen[None]):
    HELP = "Records that point to this one through a lookup. Enter opens one."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", id="related.down", show=False),
        Binding("k", "cursor_up", "Up", id="related.up", show=False),
        Binding("escape", "back", "Back", id="related.back"),
    ]

    def __init__(self, entity_def: EntityDef, record: Record) -> None:
        super().__init__()
        self.entity_def = entity_def
        self.record = record
        self._related: dict[str, Record] = {}

    def compose(self) -> ComposeResult:
        yield Static(_title(self.record.name), classes="screen-title")
        table: DataTable[str] = DataTable(id="related", cursor_type="row")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#related", DataTable)
        table.add_column(" ", width=1, key="state")
        table.add_column("Type", width=16, key="entity")
        table.add_column("Name", width=52, key="name")
        table.focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(exclusive=True, group="related")
    async def load(self) -> None:
        try:
            related = await self.records.related(self.entity_def.name, self.record.id)
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        table = self.query_one("#related", DataTable)
        table.clear()
        self._related = {}
        for record in related:
            entity_def = self.crm.entity_def(record.entity)
            label = entity_def.label if entity_def else record.entity
            self._related[record.id] = record
            table.add_row(
                glyph_for(record.state), label, Text(record.name or "(no name)"), key=record.id
            )
        if not related:
            self.query_one(".screen-title", Static).update(
                _title(self.record.name, " — nothing points here")
            )

    @on(DataTable.RowSelected, "#related")
    def open_record(self, event: DataTable.RowSelected) -> None:
        from tui_crm.ui.screens.record_form import RecordFormScreen

        record = self._related.get(event.row_key.value or "")
        if record is None:
            return
        entity_def = self.crm.entity_def(record.entity)
        if entity_def is not None:
            self.app.push_screen(RecordFormScreen(entity_def, record))

    def action_cursor_down(self) -> None:
        self.query_one("#related", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#related", DataTable).action_cursor_up()

    def action_back(self) -> None:
        self.dismiss()


def _title(name: str | None, tail: str = "") -> Text:
    """The record's name is data: a Text, never parsed as markup."""
    return Text.assemble(("Related to", "bold"), f" {name or '(no name)'}{tail}")
