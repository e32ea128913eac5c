"""Outbox: local changes the server has not seen yet, and which fields each one sets."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Static

from tui_crm.domain import Change, ChangeOp, DomainError
from tui_crm.services.overview import outbox_head
from tui_crm.ui.screens.base import CrmScreen

SHOWN_CHANGES = 500
"""A long outbox is shown by its head; its size is always given in full."""

OP_LABELS = {ChangeOp.CREATE: "+ create", ChangeOp.UPDATE: "~ update", ChangeOp.DELETE: "- delete"}


class OutboxScreen(CrmScreen[None]):
    _problems: dict[str, str]
    """Why each shown change (by seq) was not sent yet, from the last sync that tried."""
    HELP = (
        "Changes made on this device and not yet synchronised, oldest first. "
        "They are sent by the next sync; nothing here is lost by quitting. "
        "A change marked ! was refused or could not be sent: the line under "
        "the table says why; edit the record and sync again."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", id="outbox.down", show=False),
        Binding("k", "cursor_up", "Up", id="outbox.up", show=False),
        Binding("escape", "back", "Back", id="outbox.back"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("[b]Outbox[/b]", id="title", classes="screen-title")
        table: DataTable[str] = DataTable(id="changes", cursor_type="row")
        yield table
        yield Static("", id="change-problem", classes="status-line error")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#changes", DataTable)
        table.add_column("#", width=4, key="seq")
        table.add_column("Change", width=8, key="op")
        table.add_column("Type", width=12, key="entity")
        table.add_column("Record", width=20, key="name")
        table.add_column("Fields", width=20, key="fields")
        table.focus()
        self._problems = {}
        self.load()

    @work(exclusive=True, group="outbox")
    async def load(self) -> None:
        try:
            changes, total = await outbox_head(self.crm.session_or_raise(), SHOWN_CHANGES)
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        table = self.query_one("#changes", DataTable)
        table.clear()
        self._problems = {str(c.seq): c.last_error for c in changes if c.last_error}
        for change in changes:
            table.add_row(*map(Text, self._cells(change)), key=str(change.seq))
        more = f" (oldest {len(changes)} shown)" if total > len(changes) else ""
        problems = f" · {len(self._problems)} with a problem (!)" if self._problems else ""
        self.query_one("#title", Static).update(
            f"[b]Outbox[/b] · {total} change{'s' if total != 1 else ''} waiting{more}{problems}"
            + ("" if total else " — everything is synchronised")
        )
        self._show_problem(table.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_problem(event.cursor_row)

    def _show_problem(self, row: int) -> None:
        """The server's reason for the highlighted change, so a refusal is never silent."""
        table = self.query_one("#changes", DataTable)
        reason = None
        if 0 <= row < table.row_count:
            key = table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
            reason = self._problems.get(str(key))
        text = f"Not sent: {reason}" if reason else ""
        self.query_one("#change-problem", Static).update(Text(text))

    def _cells(self, change: Change) -> tuple[str, str, str, str, str]:
        entity_def = self.crm.entity_def(change.entity)
        label = entity_def.label if entity_def else change.entity
        name = ""
        if entity_def is not None:
            value = change.fields.get(entity_def.primary_name)
            name = str(value) if value else ""
        fields = ", ".join(sorted(change.fields)) if change.op is not ChangeOp.DELETE else ""
        return (
            f"!{change.seq}" if change.last_error else str(change.seq),
            OP_LABELS.get(change.op, change.op.value),
            label,
            _fit(name or "…", 20),
            _fit(fields, 20),
        )

    def action_cursor_down(self) -> None:
        self.query_one("#changes", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#changes", DataTable).action_cursor_up()

    def action_back(self) -> None:
        self.dismiss()


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
