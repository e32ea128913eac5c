"""Record list of one entity: keyset pages as the cursor nears the end, search, sort."""

from __future__ import annotations

from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Static

from tui_crm.domain import DomainError, EntityDef, PageCursor
from tui_crm.ui.glyphs import legend
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.widgets.quiet import QuietInput
from tui_crm.ui.widgets.record_table import RecordTable

PAGE_SIZE = 100
PREFETCH_ROWS = 30
"""Fetch the next page when the cursor is this close to the last loaded row."""
SEARCH_DEBOUNCE_SECONDS = 0.25


class RecordListScreen(CrmScreen[None]):
    HELP = (
        "Records of one entity, fetched a page at a time as you move down. "
        "/ searches as you type, enter opens, e edits, n adds, s sorts by the "
        "next column, r reverses. "
        "Glyphs: " + legend()
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", id="records.down", show=False),
        Binding("k", "cursor_up", "Up", id="records.up", show=False),
        # Priority: the binding must run before the keys typed after it are routed.
        Binding("slash", "search", "Search", id="records.search", priority=True),
        Binding("n", "new", "New", id="records.new"),
        Binding("e", "edit", "Edit", id="records.edit"),
        Binding("s", "sort_next", "Sort", id="records.sort"),
        # Not in the footer (no room at 80 columns with e): help and the palette list it.
        Binding("r", "reverse", "Reverse", id="records.reverse", show=False),
        Binding("escape", "back", "Back", id="records.back"),
    ]

    def __init__(self, entity_def: EntityDef) -> None:
        super().__init__()
        self.entity_def = entity_def
        self.search_text = ""
        self.order: str | None = None
        self.descending = False
        self._next: PageCursor | None = None
        self._loading = False
        self._generation = 0
        self._debounce: Timer | None = None
        self._reselect: str | None = None
        self._typing_search = False

    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="screen-title")
        search = QuietInput(placeholder="search…", id="search", compact=True)
        search.display = False
        yield search
        yield RecordTable(self.entity_def, id="records")
        yield Footer()

    @property
    def table(self) -> RecordTable:
        return self.query_one("#records", RecordTable)

    def on_mount(self) -> None:
        self.table.build_columns(self.app.size.width)
        self.table.focus()

    def on_screen_resume(self) -> None:
        # First shown, or back from a form (the record may be new, changed or gone).
        if self.table.row_count and self.table.cursor_row >= 0:
            row_key, _ = self.table.coordinate_to_cell_key(self.table.cursor_coordinate)
            self._reselect = row_key.value
        self.reload()

    # ----- loading ---------------------------------------------------------

    def _update_title(self, *, loading: bool = False) -> None:
        """Entity, sort, search and how many rows: exact once the last page is in.

        No count(*) query: counting every record costs time in proportion to
        the entity's size (seconds at 1M, on the one DB thread the next page
        waits for), and the list must open as fast with 1M as with 100. Until
        the end is reached the title says how many are loaded, with a "+".
        Home shows the exact counts.
        """
        order_field = self.entity_def.field(self.order or self.entity_def.primary_name)
        order_label = order_field.label if order_field else (self.order or "")
        arrow = "▼" if self.descending else "▲"
        # What the user typed is data, not markup: "[/x]" in a search must not raise.
        parts = [Content.from_markup("[b]$label[/b]", label=self.entity_def.plural_label)]
        parts.append(Content(f"sort: {order_label} {arrow}"))
        if self.search_text:
            parts.append(Content(f"search: {self.search_text!r}"))
        if loading:
            parts.append(Content("loading…"))
        else:
            loaded = self.table.row_count
            more = "+" if self._next is not None else ""
            parts.append(Content(f"{loaded}{more} record{'' if loaded == 1 and not more else 's'}"))
        self.query_one("#title", Static).update(Content(" · ").join(parts))

    @work(exclusive=True, group="reload")
    async def reload(self) -> None:
        self._generation += 1
        generation = self._generation
        self._loading = True
        self._update_title(loading=True)
        try:
            page = await self.records.list(
                self.entity_def.name,
                search=self.search_text or None,
                order=self.order,
                descending=self.descending,
                limit=PAGE_SIZE,
            )
        except DomainError as error:
            self._update_title()
            self.notify(str(error), severity="error")
            return
        finally:
            self._loading = False
        if generation != self._generation:
            return
        table = self.table
        table.clear()
        table.append_records(page.records)
        self._next = page.next_cursor
        self._update_title()
        self._restore_cursor()

    def _restore_cursor(self) -> None:
        wanted, self._reselect = self._reselect, None
        if wanted is None:
            return
        try:
            row = self.table.get_row_index(wanted)
        except Exception:  # RowDoesNotExist: it may be gone or on a later page
            return
        self.table.move_cursor(row=row, animate=False)

    @work(group="page")
    async def load_more(self) -> None:
        if self._loading or self._next is None:
            return
        generation = self._generation
        self._loading = True
        try:
            page = await self.records.list(
                self.entity_def.name,
                search=self.search_text or None,
                order=self.order,
                descending=self.descending,
                after=self._next,
                limit=PAGE_SIZE,
            )
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        finally:
            self._loading = False
        if generation != self._generation:
            return
        self.table.append_records(page.records)
        self._next = page.next_cursor
        self._update_title()

    @on(DataTable.RowHighlighted, "#records")
    def maybe_fetch(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= self.table.row_count - PREFETCH_ROWS:
            self.load_more()

    @on(DataTable.RowSelected, "#records")
    def open_record(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_form(event.row_key.value)

    @work(group="open")
    async def open_form(self, record_id: str, *, edit: bool = False) -> None:
        from tui_crm.ui.screens.record_form import RecordFormScreen

        try:
            record = await self.records.get(self.entity_def.name, record_id)
        except DomainError as error:
            self.notify(str(error), severity="error")
            return
        await self.app.push_screen(RecordFormScreen(self.entity_def, record, edit=edit))

    def action_edit(self) -> None:
        """Open the highlighted record in edit mode."""
        table = self.table
        if not table.row_count or table.cursor_row < 0:
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        if row_key.value is not None:
            self.open_form(row_key.value, edit=True)

    # ----- search ----------------------------------------------------------

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            search.insert_text_at_cursor("/")
            return
        search.display = True
        # At once, not `search.focus()`: that moves focus only after the keys already
        # queued behind `/`, which then reach the table and come back to the search
        # late, out of order ("/canary" became "anaryc" on a loaded machine).
        self.set_focus(search)
        self._typing_search = True

    def on_key(self, event: events.Key) -> None:
        """Keys typed right after `/` belong to the search, even before focus has moved.

        Over a slow link `/name` arrives in one burst: the keys are routed to
        the table before the focus change lands, and `n` must not open a new
        record. `/` is a priority binding, so this flag is set before they come.
        """
        search = self.query_one("#search", Input)
        # A printable key reaching the screen was not handled by the search box
        # itself (it was routed before focus moved): it still belongs there.
        if self._typing_search and event.is_printable:
            if event.character:
                search.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    def watch_focused(self, old: Widget | None, new: Widget | None) -> None:
        """Focus leaving the search box (Tab, a click) ends typing into it.

        A reactive watcher runs as the focus changes, before any later key is
        routed, so a key typed right after Tab goes to the table, not the search.
        """
        if old is not None and old.id == "search" and new is not old:
            self._typing_search = False

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        value = event.value.strip()
        self._debounce = self.set_timer(SEARCH_DEBOUNCE_SECONDS, lambda: self._apply_search(value))

    def _apply_search(self, value: str) -> None:
        if value != self.search_text:
            self.search_text = value
            self.reload()

    @on(Input.Submitted, "#search")
    def search_done(self) -> None:
        self._typing_search = False
        self.table.focus()

    # ----- other actions ---------------------------------------------------

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus or search.display:
            self._typing_search = False
            if search.value:
                search.value = ""
                self._apply_search("")
            search.display = False
            self.table.focus()
            return
        self.app.pop_screen()

    def action_new(self) -> None:
        from tui_crm.ui.screens.record_form import RecordFormScreen

        self.app.push_screen(RecordFormScreen(self.entity_def, None))

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_sort_next(self) -> None:
        columns = self.table.field_names
        current = self.order or self.entity_def.primary_name
        index = columns.index(current) if current in columns else -1
        self.order = columns[(index + 1) % len(columns)]
        self.descending = False
        self.reload()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.reload()
