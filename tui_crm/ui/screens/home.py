"""Home: entities with record counts, outbox and sync state, one key to each place."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from tui_crm.domain import DomainError
from tui_crm.services.overview import overview
from tui_crm.ui.screens.base import CrmScreen

ENTITY_KEYS = "123456789"


def last_sync_text(run: dict[str, Any] | None) -> str:
    """'never', or the UTC time of the last run and how it ended."""
    if run is None:
        return "never"
    when = str(run.get("finished_at") or run.get("started_at") or "")
    when = when.replace("T", " ").removesuffix("Z")[:16]
    return f"{when} UTC ({run.get('status', '?')})"


class HomeScreen(CrmScreen[None]):
    HELP = (
        "The entities of this profile with their record counts. A digit opens an "
        "entity's list; the other keys open the outbox, sync status, nearby and setup."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                digit,
                f"open_entity({index})",
                f"Entity {digit}",
                id=f"home.entity{digit}",
                show=False,
            )
            for index, digit in enumerate(ENTITY_KEYS)
        ),
        Binding("j", "cursor_down", "Down", id="home.down", show=False),
        Binding("k", "cursor_up", "Up", id="home.up", show=False),
        Binding("o", "outbox", "Outbox", id="home.outbox"),
        Binding("y", "sync_status", "Sync", id="home.sync"),
        Binding("m", "nearby", "Nearby", id="home.nearby"),
        Binding("c", "setup", "Setup", id="home.setup"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("[b]tui-crm[/b] · home", classes="screen-title")
        table: DataTable[str] = DataTable(id="entities", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#entities", DataTable)
        table.add_column("Key", width=3, key="key")
        table.add_column("Entity", width=28, key="entity")
        table.add_column("Records", width=10, key="count")
        table.focus()

    def on_screen_resume(self) -> None:
        # Also sent when the screen is first shown: one load, not two.
        self.load()

    @work(exclusive=True, group="home")
    async def load(self) -> None:
        session = self.crm.session
        if session is None:
            return
        try:
            summary = await overview(session)
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        table = self.query_one("#entities", DataTable)
        cursor = table.cursor_row
        table.clear()
        for index, entity_def in enumerate(self.crm.entity_defs):
            key = ENTITY_KEYS[index] if index < len(ENTITY_KEYS) else ""
            table.add_row(
                key,
                entity_def.plural_label,
                str(summary.counts.get(entity_def.name, 0)).rjust(8),
                key=entity_def.name,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        changes = summary.outbox
        self.query_one("#status", Static).update(
            f"Outbox: {changes} change{'s' if changes != 1 else ''}   "
            f"Conflicts: {summary.open_conflicts}   Last sync: {last_sync_text(summary.last_run)}"
        )

    @on(DataTable.RowSelected, "#entities")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.crm.open_list(event.row_key.value)

    def action_open_entity(self, index: int) -> None:
        if 0 <= index < len(self.crm.entity_defs):
            self.crm.open_list(self.crm.entity_defs[index].name)

    def action_cursor_down(self) -> None:
        self.query_one("#entities", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#entities", DataTable).action_cursor_up()

    def action_outbox(self) -> None:
        self.crm.open_outbox()

    def action_setup(self) -> None:
        self.crm.open_setup()

    def action_sync_status(self) -> None:
        self.crm.open_optional("sync_status")

    def action_nearby(self) -> None:
        self.crm.open_optional("nearby")
