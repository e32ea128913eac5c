"""Sync status: run a sync and watch it per entity, cancel it, see past runs and open conflicts.

The run itself is `session.sync.sync` awaited in a worker (network is async,
store steps go to the DB thread), and each progress step only updates the
board and a few table cells, so the screen stays cheap over a slow link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from tui_crm.domain import Conflict, DomainError
from tui_crm.services.sync import Progress
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.sync_board import DONE, SyncBoard, human_bytes, human_seconds

if TYPE_CHECKING:
    from tui_crm.services.session import Session

BAR_WIDTH = 20
HISTORY_ROWS = 3
KIND_LABELS = {
    "update-update": "both edited",
    "update-delete": "server deleted",
    "delete-update": "you deleted",
}


def text_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """Two different glyphs, so the bar reads without colour (NO_COLOR, mono terminals)."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def short_time(stamp: object) -> str:
    """'2024-05-01T10:20:30Z' -> '05-01 10:20' (UTC): fits a narrow column."""
    text = str(stamp or "")
    return text[5:16].replace("T", " ") if len(text) >= 16 else text


def conflict_name(conflict: Conflict, primary_name: str) -> str:
    for side in (conflict.device, conflict.server, conflict.base):
        if side and side.get(primary_name):
            return str(side[primary_name])
    return conflict.record_id[:8]


class SyncStatusScreen(CrmScreen[None]):
    HELP = (
        "s synchronises now and x cancels (finished pages are kept; the rest resumes "
        "next time). Bars fill per entity; the remaining time is an estimate. "
        "Enter on a conflict opens the three-way merge. i signs in to the server, "
        "ctrl+o switches between offline and online."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sync", "Sync now", id="sync.run"),
        Binding("x", "cancel", "Cancel", id="sync.cancel"),
        Binding("i", "sign_in", "Sign in", id="sync.sign_in"),
        Binding("a", "show_all", "All/open", id="sync.all_conflicts"),
        Binding("j", "cursor_down", "Down", id="sync.down", show=False),
        Binding("k", "cursor_up", "Up", id="sync.up", show=False),
        Binding("escape", "back", "Back", id="sync.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.board = SyncBoard()
        self.running = False
        self.show_resolved = False
        self._conflicts: dict[str, Conflict] = {}
        self._leave_when_done = False

    def compose(self) -> ComposeResult:
        yield Static("[b]Sync status[/b]", id="sync-title", classes="screen-title")
        entities: DataTable[str] = DataTable(id="sync-entities", cursor_type="none")
        entities.can_focus = False
        yield entities
        yield Static("", id="sync-totals", classes="status-line")
        yield Static("Last runs", classes="sync-heading")
        history: DataTable[str] = DataTable(id="sync-history", cursor_type="none")
        history.can_focus = False
        yield history
        yield Static("Conflicts", id="conflicts-heading", classes="sync-heading")
        yield DataTable(id="sync-conflicts", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        entities = self.query_one("#sync-entities", DataTable)
        entities.add_column("Entity", width=16, key="entity")
        entities.add_column("Progress", width=BAR_WIDTH, key="bar")
        entities.add_column("Pulled", width=7, key="done")
        entities.add_column("Pushed", width=6, key="pushed")
        entities.add_column("State", width=8, key="state")
        history = self.query_one("#sync-history", DataTable)
        for label, key, width in (
            ("#", "id", 4),
            ("Started", "started", 11),
            ("Status", "status", 11),
            ("Pulled", "pulled", 6),
            ("Pushed", "pushed", 6),
            ("Confl.", "conflicts", 6),
            ("Errors", "errors", 6),
        ):
            history.add_column(label, width=width, key=key)
        conflicts = self.query_one("#sync-conflicts", DataTable)
        conflicts.add_column("#", width=4, key="id")
        conflicts.add_column("Type", width=12, key="entity")
        conflicts.add_column("Record", width=24, key="name")
        conflicts.add_column("What", width=14, key="kind")
        conflicts.add_column("Since", width=11, key="since")
        conflicts.focus()
        self._fill_entities()
        self._show_totals()
        self.load()

    def on_screen_resume(self) -> None:
        if not self.running:
            self.load()

    # ----- loading -----------------------------------------------------------

    @work(exclusive=True, group="sync-status-load")
    async def load(self) -> None:
        session = self.crm.session
        if session is None:
            return
        try:
            credentials = await session.settings.credentials()
            runs = await session.sync.runs(limit=HISTORY_ROWS)
            conflicts = await session.sync.conflicts(open_only=not self.show_resolved)
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        self._show_title(session, credentials)
        self._fill_history(runs)
        self._fill_conflicts(conflicts)

    def _show_title(self, session: Session, credentials: dict[str, Any]) -> None:
        mode = "online" if session.sync.online else "offline"
        url = credentials.get("url") if credentials.get("tokens") else None
        where = f"{url}" if url else "not connected (i signs in)"
        user = credentials.get("user")
        if url and user:
            where += f" as {user}"
        self.query_one("#sync-title", Static).update(f"[b]Sync status[/b] · {mode} · {where}")

    def _fill_entities(self) -> None:
        table = self.query_one("#sync-entities", DataTable)
        table.clear()
        if not self.board.lines:
            self.board = SyncBoard.start(
                ((e.name, e.plural_label) for e in self.crm.entity_defs), {}
            )
            self.board.running = False
        for line in self.board.lines.values():
            table.add_row(
                line.label[:16],
                text_bar(line.fraction),
                str(line.done).rjust(7),
                str(line.pushed).rjust(6),
                line.state if (self.running or line.state == DONE) else "",
                key=line.name,
            )

    def _fill_history(self, runs: list[dict[str, Any]]) -> None:
        table = self.query_one("#sync-history", DataTable)
        table.clear()
        for run in runs:
            summary = run.get("summary") or {}
            table.add_row(
                str(run.get("id", "")),
                short_time(run.get("started_at")),
                str(run.get("status", "")),
                *(str(summary.get(k, "")).rjust(6) for k in ("pulled", "pushed")),
                *(str(summary.get(k, "")).rjust(6) for k in ("conflicts", "errors")),
            )
        if not runs:
            table.add_row("", "never", "", "", "", "", "")

    def _fill_conflicts(self, conflicts: list[Conflict]) -> None:
        table = self.query_one("#sync-conflicts", DataTable)
        cursor = table.cursor_row
        table.clear()
        self._conflicts = {str(c.id): c for c in conflicts}
        for conflict in conflicts:
            entity_def = self.crm.entity_def(conflict.entity)
            label = entity_def.label if entity_def else conflict.entity
            primary = entity_def.primary_name if entity_def else "name"
            what = KIND_LABELS.get(conflict.kind, conflict.kind)
            if conflict.resolution:
                what = f"✓ {conflict.resolution}"
            table.add_row(
                str(conflict.id),
                label[:12],
                Text(conflict_name(conflict, primary)[:24]),
                what,
                short_time(conflict.created_at),
                key=str(conflict.id),
            )
        if table.row_count:
            table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))
        which = "all" if self.show_resolved else "open"
        self.query_one("#conflicts-heading", Static).update(
            f"Conflicts ({len(conflicts)} {which}) · enter opens the merge"
            if conflicts
            else f"Conflicts: none {which}"
        )

    def _show_totals(self) -> None:
        board = self.board
        left = human_seconds(board.remaining_seconds()) if board.running else "-"
        text = (
            f"Records {board.records_moved}  Requests {board.requests}  "
            f"↓{human_bytes(board.bytes_received)} ↑{human_bytes(board.bytes_sent)}  "
            f"Errors {board.errors}  Elapsed {human_seconds(board.seconds)}  Left ~{left}"
        )
        if board.outcome:
            text = f"{board.outcome} · {text}"
        self.query_one("#sync-totals", Static).update(text)

    # ----- the run ------------------------------------------------------------

    def action_sync(self) -> None:
        if self.running:
            self.notify("a sync is already running")
            return
        self.run_sync()

    @work(exclusive=True, group="sync-run")
    async def run_sync(self) -> None:
        session = self.crm.session_or_raise()
        try:
            counts = await session.records.counts()
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        self.board = SyncBoard.start(
            ((e.name, e.plural_label) for e in self.crm.entity_defs), counts
        )
        self.running = True
        self._fill_entities()
        self._show_totals()
        try:
            summary = await session.sync.sync(progress=self.on_progress)
        except DomainError as error:
            self.board.finish(str(error))
            self.notify(str(error), severity="warning")
        else:
            self.board.finish("done", summary)
            conflicts = summary.get("conflicts", 0)
            refused = int(summary.get("errors", 0) or 0)
            text = (
                f"sync done: {summary.get('pulled', 0)} pulled, {summary.get('pushed', 0)} "
                f"pushed, {conflicts} conflict{'s' if conflicts != 1 else ''}"
            )
            if refused:
                # A refusal must not hide behind "done": say it and where the reason is.
                self.board.outcome = f"done, {refused} refused (see Outbox)"
                self.notify(
                    f"{text}; {refused} change{'s' if refused != 1 else ''} refused by the "
                    "server, kept on this device: the Outbox (o on Home) shows why",
                    severity="warning",
                )
            else:
                self.notify(text)
        finally:
            self.running = False
        self._fill_entities()
        self._show_totals()
        if self._leave_when_done:
            self.dismiss()
            return
        self.load()

    def on_progress(self, step: Progress) -> None:
        """Called by the engine on the event loop after each page or push."""
        self.board.update(step)
        table = self.query_one("#sync-entities", DataTable)
        for line in self.board.lines.values():
            if line.name not in table.rows:
                continue
            table.update_cell(line.name, "bar", text_bar(line.fraction))
            table.update_cell(line.name, "done", str(line.done).rjust(7))
            table.update_cell(line.name, "pushed", str(line.pushed).rjust(6))
            table.update_cell(line.name, "state", line.state)
        self._show_totals()

    def action_cancel(self) -> None:
        session = self.crm.session
        if not self.running or session is None:
            self.notify("no sync is running")
            return
        session.sync.cancel()
        self.query_one("#sync-totals", Static).update("cancelling after the current page…")

    # ----- conflicts and navigation ----------------------------------------------

    @on(DataTable.RowSelected, "#sync-conflicts")
    def conflict_selected(self, event: DataTable.RowSelected) -> None:
        conflict = self._conflicts.get(str(event.row_key.value))
        if conflict is None:
            return
        if conflict.resolution:
            self.notify(f"already resolved: {conflict.resolution}")
            return
        entity_def = self.crm.entity_def(conflict.entity)
        if entity_def is None:
            self.notify(f"unknown entity {conflict.entity}", severity="error")
            return
        from tui_crm.ui.screens.merge import MergeScreen

        self.app.push_screen(MergeScreen(entity_def, conflict))

    def action_show_all(self) -> None:
        self.show_resolved = not self.show_resolved
        self.load()

    def action_sign_in(self) -> None:
        from tui_crm.ui.screens.sign_in import SignInScreen

        if self.running:
            self.notify("wait for the sync to finish (or x to cancel)")
            return
        self.app.push_screen(SignInScreen())

    def action_cursor_down(self) -> None:
        self.query_one("#sync-conflicts", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#sync-conflicts", DataTable).action_cursor_up()

    def action_back(self) -> None:
        if self.running:
            # Leaving must not tear the run down mid-page: cancel cleanly, then go.
            self._leave_when_done = True
            self.action_cancel()
            return
        self.dismiss()
