"""Three-way merge of one conflict: base / server / mine per field, pick a side or edit.

The decision is stored by `session.sync.resolve` (record, outbox and the
conflict log in one transaction) and pushed by the next sync against the
server version shown here. The conflict row stays as a log either way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Input, Static

from tui_crm.domain import Conflict, DomainError, EntityDef
from tui_crm.domain.values import format_value
from tui_crm.services.records import RecordService
from tui_crm.ui.merge_model import BASE, EDITED, MARKS, MINE, SERVER, Merge, MergeField
from tui_crm.ui.screens.base import CrmModal, CrmScreen
from tui_crm.ui.widgets.quiet import QuietInput

VALUE_WIDTH = 13


def _fit(text: str, width: int = VALUE_WIDTH) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


class EditValueScreen(CrmModal[str | None]):
    """Type the merged value of one field; the field's own parser checks it."""

    HELP = "Type the value and press enter; escape keeps the previous choice."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="merge_edit.cancel"),
    ]

    def __init__(self, entity_def: EntityDef, merged: MergeField) -> None:
        super().__init__()
        self.entity_def = entity_def
        self.merged = merged

    def compose(self) -> ComposeResult:
        definition = self.entity_def.field(self.merged.name)
        current = format_value(definition, self.merged.result) if definition else ""
        with Vertical(classes="dialog merge-edit"):
            yield Static(f"[b]{self.merged.label}[/b]: merged value", classes="dialog-title")
            yield QuietInput(current, id="merge-value")
            yield Static("", id="merge-edit-error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#merge-value", Input).focus()

    @on(Input.Submitted, "#merge-value")
    def submitted(self, event: Input.Submitted) -> None:
        try:
            RecordService.parse_input(self.entity_def, self.merged.name, event.value)
        except ValueError as error:
            self.query_one("#merge-edit-error", Static).update(str(error))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MergeScreen(CrmScreen[None]):
    HELP = (
        "Each row is a field the versions disagree on: B base (before both edits), "
        "S server, M mine, E edited, ? not yet chosen. s / m / b take server, mine or "
        "base for the row, e types a value. S takes the whole server record, M the "
        "whole of mine; ctrl+s saves the merge. The next sync sends it."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "pick('server')", "Server", id="merge.server"),
        Binding("m", "pick('mine')", "Mine", id="merge.mine"),
        Binding("b", "pick('base')", "Base", id="merge.base"),
        Binding("e", "edit", "Edit", id="merge.edit"),
        Binding("S", "take('server')", "Take server", id="merge.take_server"),
        Binding("M", "take('device')", "Take mine", id="merge.take_mine"),
        Binding("ctrl+s", "save", "Save merge", id="merge.save"),
        Binding("j", "cursor_down", "Down", id="merge.down", show=False),
        Binding("k", "cursor_up", "Up", id="merge.up", show=False),
        Binding("escape", "back", "Back", id="merge.back"),
    ]

    def __init__(self, entity_def: EntityDef, conflict: Conflict) -> None:
        super().__init__()
        self.entity_def = entity_def
        self.conflict = conflict
        self.merge = Merge.of(entity_def, conflict)
        self._busy = False

    def compose(self) -> ComposeResult:
        primary = self.entity_def.primary_name
        name = ""
        for side in (self.conflict.device, self.conflict.server, self.conflict.base):
            if side and side.get(primary):
                name = str(side[primary])
                break
        yield Static(
            f"[b]Merge[/b] · {self.entity_def.label} · {_fit(name, 40)}",
            id="merge-title",
            classes="screen-title",
        )
        yield Static(self._explanation(), id="merge-explain", classes="status-line")
        table: DataTable[str] = DataTable(id="merge-fields", cursor_type="row")
        yield table
        yield Static("", id="merge-status", classes="status-line")
        yield Footer()

    def _explanation(self) -> str:
        kind = self.conflict.kind
        if self.conflict.server is None:
            return "The server deleted it, you edited it: S deletes it here, M sends yours back."
        if self.conflict.device is None:
            return "You deleted it, the server edited it: S keeps the server's, M deletes it."
        count = len(self.merge.fields)
        return f"{count} field{'s' if count != 1 else ''} differ ({kind}); choose per row."

    def on_mount(self) -> None:
        table = self.query_one("#merge-fields", DataTable)
        table.add_column("Field", width=12, key="field")
        for label, key in (("Base", BASE), ("Server", SERVER), ("Mine", MINE)):
            table.add_column(label, width=VALUE_WIDTH, key=key)
        table.add_column("Result", width=VALUE_WIDTH + 2, key="result")
        for index, merged in enumerate(self.merge.fields):
            table.add_row(*map(Text, self._cells(merged)), key=str(index))
        table.focus()
        self._show_status()

    def _text(self, merged: MergeField, value: Any) -> str:
        definition = self.entity_def.field(merged.name)
        if definition is None:
            return "" if value is None else str(value)
        return format_value(definition, value)

    def _cells(self, merged: MergeField) -> tuple[str, ...]:
        return (
            _fit(merged.label, 12),
            _fit(self._text(merged, merged.base)),
            _fit(self._text(merged, merged.server)),
            _fit(self._text(merged, merged.mine)),
            f"{MARKS[merged.choice]} " + _fit(self._text(merged, merged.result)),
        )

    def _refresh_row(self, index: int) -> None:
        table = self.query_one("#merge-fields", DataTable)
        table.update_cell(str(index), "result", Text(self._cells(self.merge.fields[index])[-1]))
        self._show_status()

    def _show_status(self) -> None:
        undecided = self.merge.undecided()
        status = self.query_one("#merge-status", Static)
        if not self.merge.field_merge_possible:
            status.update("S take server · M take mine")
        elif undecided:
            status.update(f"still to choose: {', '.join(undecided)}")
        else:
            status.update("every field chosen: ctrl+s saves the merge")

    def _row(self) -> int | None:
        table = self.query_one("#merge-fields", DataTable)
        if not table.row_count or not self.merge.field_merge_possible:
            return None
        return table.cursor_row

    def action_pick(self, choice: str) -> None:
        index = self._row()
        if index is None:
            self.notify("use S (take server) or M (take mine) here")
            return
        self.merge.choose(index, choice)
        self._refresh_row(index)

    def action_edit(self) -> None:
        index = self._row()
        if index is None:
            return

        def edited(text: str | None) -> None:
            if text is None:
                return
            merged = self.merge.fields[index]
            value = RecordService.parse_input(self.entity_def, merged.name, text)
            self.merge.choose(index, EDITED, value)
            self._refresh_row(index)

        self.app.push_screen(EditValueScreen(self.entity_def, self.merge.fields[index]), edited)

    def action_take(self, take: str) -> None:
        self.resolve(take, None)

    def action_save(self) -> None:
        if not self.merge.field_merge_possible:
            self.notify("the record is gone on one side: S or M decides", severity="warning")
            return
        undecided = self.merge.undecided()
        if undecided:
            self.notify(f"choose first: {', '.join(undecided)}", severity="warning")
            return
        self.resolve("merged", self.merge.result())

    @work(exclusive=True, group="merge-save")
    async def resolve(self, take: str, merged: dict[str, Any] | None) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            resolved = await self.crm.session_or_raise().sync.resolve(
                self.conflict.id, take, merged
            )
        except DomainError as error:
            self.query_one("#merge-status", Static).update(str(error))
            self.notify(str(error), severity="error")
            return
        finally:
            self._busy = False
        words = {
            "server": "took the server's version",
            "device": "kept yours; the next sync sends it",
        }
        self.notify(
            f"conflict {resolved.id}: {words.get(take, 'merge saved; the next sync sends it')}"
        )
        self.dismiss()

    def action_cursor_down(self) -> None:
        self.query_one("#merge-fields", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#merge-fields", DataTable).action_cursor_up()

    def action_back(self) -> None:
        self.dismiss()
