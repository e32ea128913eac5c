"""Nearby: records around the device as a text map and a distance-sorted list.

The location source runs only while this screen is open and Map is on; with
Map off the screen says so and starts nothing. Position changes arrive as
status callbacks; the list is updated cell by cell when the order holds and
the map widget repaints only the rows that changed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.widgets import DataTable, Footer, Input, Static

from tui_crm.domain import DomainError
from tui_crm.services.nearby import (
    DeviceMarker,
    Fix,
    LocationState,
    LocationStatus,
    MapView,
    NearbyHit,
    ProjectedPin,
    Stop,
    compass_point,
    fit_scale,
    format_distance,
    marker_for,
    pins_for_hits,
    project,
    project_pins,
    render_projected,
    unproject,
)
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.widgets.map_view import MapGrid
from tui_crm.ui.widgets.quiet import QuietInput

if TYPE_CHECKING:
    from tui_crm.services.nearby import NearbyService

RADII_M = (250.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0)
DEFAULT_RADIUS_M = 5_000.0
LIST_LIMIT = 200
WIDE_AT = 120
MOVE_THRESHOLD_M = 0.5
"""Position changes smaller than this (receiver jitter) do not re-run the query."""
PAN_FRACTION = 0.25
ZOOM_FACTOR = 2.0


def key_of(hit: NearbyHit) -> str:
    return f"{hit.entity}:{hit.id}"


AGE_REPAINT_S = 1.0
"""How often the age in the title is brought up to date (nothing else is redrawn)."""


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "age unknown"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"


def describe(status: LocationStatus, age_s: float | None = None) -> str:
    """The location part of the title: state, accuracy, age (`age_s` overrides the status's)."""
    fix = status.fix
    accuracy = "" if fix is None or fix.accuracy_m is None else f" ±{fix.accuracy_m:.0f} m"
    age_s = status.age_s if age_s is None else age_s
    age = "" if age_s is None else f", {age_s:.0f} s old"
    if status.state == LocationState.FIX:
        return f"fix{accuracy}" + (f" ({status.detail})" if status.detail else "")
    if status.state == LocationState.STALE:
        return f"stale{accuracy}{age}"
    if status.state == LocationState.NO_FIX:
        return f"no fix{' (last known' + age + ')' if fix else ''}"
    if status.state == LocationState.ERROR:
        return status.detail or "location error"
    if status.state == LocationState.WAITING:
        return status.detail or "waiting for a position"
    return status.detail or "location off"


class NearbyScreen(CrmScreen[None]):
    HELP = (
        "Records near the device, nearest first, and the map around it. + and - zoom, "
        "shift+arrows pan, c recentres on the device, r changes the radius, e the entity. "
        "Enter opens the record; space marks it for the route (o), i checks in there, "
        "h takes it as 'here', p lets you type a position. The position never leaves the "
        "device; with Map off in Setup nothing is started."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in", id="nearby.zoom_in"),
        Binding("minus", "zoom(2.0)", "Zoom out", id="nearby.zoom_out"),
        Binding("shift+left", "pan(-1, 0)", "Pan west", id="nearby.pan_west", show=False),
        Binding("shift+right", "pan(1, 0)", "Pan east", id="nearby.pan_east", show=False),
        Binding("shift+up", "pan(0, 1)", "Pan north", id="nearby.pan_north", show=False),
        Binding("shift+down", "pan(0, -1)", "Pan south", id="nearby.pan_south", show=False),
        Binding("c", "recentre", "Recentre", id="nearby.recentre"),
        Binding("r", "radius", "Radius", id="nearby.radius"),
        Binding("e", "entity", "Entity", id="nearby.entity"),
        Binding("space", "mark", "Mark", id="nearby.mark"),
        Binding("o", "route", "Route", id="nearby.route"),
        Binding("i", "check_in", "Check in", id="nearby.check_in"),
        Binding("h", "here", "Here", id="nearby.here", show=False),
        Binding("p", "position", "Position", id="nearby.position", show=False),
        Binding("j", "cursor(1)", "Down", id="nearby.down", show=False),
        Binding("k", "cursor(-1)", "Up", id="nearby.up", show=False),
        Binding("escape", "back", "Back", id="nearby.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.radius_m = DEFAULT_RADIUS_M
        self.entity: str | None = None
        self.entities: list[str] = []
        self.hits: list[NearbyHit] = []
        self.marked: set[str] = set()
        self.highlight: str | None = None
        self.centre: tuple[float, float] | None = None
        self.view_centre: tuple[float, float] | None = None
        self.following = True
        self.metres_per_cell: float | None = None
        self.status = LocationStatus(LocationState.OFF)
        self._status_at = 0.0
        """The app clock (CrmApp.clock) when `status` arrived: its age grows from there."""
        self.last_known: tuple[Fix, float | None, float] | None = None
        """Kept position shown before the first fix: (fix, age when loaded, app clock then)."""
        self._projected: list[ProjectedPin] = []
        self._projected_for: tuple[object, ...] = ()
        self._unsubscribe: Callable[[], None] | None = None
        self.unplaced = 0
        """Records left out because their coordinates are missing or invalid."""
        self.table_updates = 0
        self.title_text = ""
        """How many cells were rewritten by the last list update (tests read it)."""

    # ----- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("Nearby", id="nearby-status", classes="screen-title")
        with Container(id="nearby-body"):
            yield MapGrid(id="nearby-map")
            table: DataTable[str | Text] = DataTable(
                id="nearby-list", cursor_type="row", zebra_stripes=False
            )
            yield table
        position = QuietInput(placeholder="latitude, longitude", id="nearby-position", compact=True)
        position.display = False
        yield position
        yield Footer()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#nearby-list", DataTable)

    @property
    def map(self) -> MapGrid:
        return self.query_one("#nearby-map", MapGrid)

    @property
    def nearby(self) -> NearbyService:
        return self.crm.session_or_raise().nearby

    def on_mount(self) -> None:
        table = self.table
        table.add_column("#", key="marker", width=2)
        table.add_column("Dist", key="distance", width=8)
        table.add_column("Dir", key="bearing", width=3)
        table.add_column("Name", key="name", width=26)
        table.add_column("Entity", key="entity", width=11)
        self._apply_width(self.size.width)
        if self.crm.session is None:
            return
        nearby = self.nearby
        nearby.configure(self.crm.settings)
        if not nearby.map_enabled:
            self._show_map_off()
            return
        self._unsubscribe = nearby.subscribe(self._status_changed)
        self.set_interval(AGE_REPAINT_S, self._update_title, name="nearby-age")
        self.start_source()
        table.focus()

    def _show_map_off(self) -> None:
        self.query_one("#nearby-body").display = False
        self.query_one("#nearby-status", Static).update(
            "Nearby — Map is off. Turn it on in Setup to see records near you."
        )

    def on_resize(self, event: events.Resize) -> None:
        self._apply_width(event.size.width)
        if self.hits or self.centre is not None:
            self.redraw_map()

    def _apply_width(self, width: int) -> None:
        self.query_one("#nearby-body").set_class(width >= WIDE_AT, "-wide")

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        session = self.crm.session
        if session is not None:
            await session.nearby.stop()

    # ----- location ------------------------------------------------------------------

    @work(group="nearby-start", exclusive=True)
    async def start_source(self) -> None:
        try:
            self.entities = await self.nearby.positional_entities()
            self.unplaced = await self.nearby.unplaced()
            status = await self.nearby.start()
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        use_kept = False
        if status.fix is None:
            kept = await self.nearby.last_known_with_age()
            if kept is not None:
                fix, age = kept
                self.last_known = (fix, age, self.crm.clock())
                self.centre = (fix.lat, fix.lon)
                self.view_centre = self.centre
                use_kept = True
        # The current status, not the one start() returned: a fix may have come meanwhile.
        self._status_changed(self.nearby.status())
        if use_kept and self.status.fix is None:
            self.run_query()  # the list around where we last were, until a fix arrives

    def _status_changed(self, status: LocationStatus) -> None:
        """Called by the location source on the event loop: new fix, no fix, stale, error."""
        self.status = status
        self._status_at = self.crm.clock()
        fix = status.fix
        moved = False
        if fix is not None:
            self.last_known = None
            new = (fix.lat, fix.lon)
            moved = self.centre is None or _metres_apart(self.centre, new) > MOVE_THRESHOLD_M
            if moved:
                self.centre = new
                if self.following or self.view_centre is None:
                    self.view_centre = new
        self._update_title()
        if moved:
            self.run_query()
        elif self.centre is not None:
            self.redraw_map()

    def _update_title(self) -> None:
        scope = self.entity or "all"
        now = self.crm.clock()
        age = None if self.status.age_s is None else self.status.age_s + now - self._status_at
        where = describe(self.status, age)
        if self.status.fix is None and self.last_known is not None:
            _, kept_age, kept_at = self.last_known
            shown = None if kept_age is None else kept_age + now - kept_at
            where += f" · last known, {format_age(shown)}"
        text = (
            f"Nearby — {len(self.hits)} within {format_distance(self.radius_m)} · {scope} · {where}"
        )
        if self.marked:
            text += f" · {len(self.marked)} marked"
        if self.unplaced:
            text += f" · {self.unplaced} without position"
        if text == self.title_text:
            return  # the 1 s age tick repaints only when the words change
        self.title_text = text
        # Text, not markup: entity names and source details are data (e.g. "[Errno 111]").
        self.query_one("#nearby-status", Static).update(Text(text))

    # ----- query and list ----------------------------------------------------------------

    @work(group="nearby-query", exclusive=True)
    async def run_query(self) -> None:
        if self.centre is None:
            return
        lat, lon = self.centre
        entities = [self.entity] if self.entity else None
        try:
            result = await self.nearby.nearby(lat, lon, self.radius_m, entities, limit=LIST_LIMIT)
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self._show_hits(result.hits)
        self._update_title()
        self.redraw_map()

    def _show_hits(self, hits: list[NearbyHit]) -> None:
        """Rewrite only the cells that changed when the order holds; else rebuild."""
        table = self.table
        old_keys = [key_of(h) for h in self.hits]
        new_keys = [key_of(h) for h in hits]
        previous = {key_of(h): h for h in self.hits}
        self.hits = hits
        self.marked &= set(new_keys)
        updates = 0
        if old_keys == new_keys:
            for hit in hits:
                old = previous[key_of(hit)]
                for column, before, after in (
                    ("distance", _distance_cell(old), _distance_cell(hit)),
                    ("bearing", _bearing_cell(old), _bearing_cell(hit)),
                ):
                    if before != after:
                        table.update_cell(key_of(hit), column, after)
                        updates += 1
            self.table_updates = updates
            return
        cursor_key = self.highlight
        table.clear()
        for index, hit in enumerate(hits):
            table.add_row(*self._row(index, hit), key=key_of(hit))
        self.table_updates = len(hits) * 5
        if cursor_key in new_keys:
            table.move_cursor(row=new_keys.index(cursor_key))
        self.highlight = new_keys[table.cursor_row] if hits else None

    def _row(self, index: int, hit: NearbyHit) -> list[str | Text]:
        mark = "*" if key_of(hit) in self.marked else ""
        return [
            marker_for(index) + mark,
            _distance_cell(hit),
            _bearing_cell(hit),
            # Record data as Text: a plain str cell is parsed as markup ("Smith [/x]" crashes).
            Text(hit.name or hit.id),
            Text(hit.entity),
        ]

    @on(DataTable.RowHighlighted, "#nearby-list")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key != self.highlight:
            self.highlight = key
            self.redraw_map()

    @on(DataTable.RowSelected, "#nearby-list")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_record(event.row_key.value)

    @work(group="nearby-open")
    async def open_record(self, key: str) -> None:
        from tui_crm.ui.screens.record_form import RecordFormScreen

        entity, _, record_id = key.partition(":")
        entity_def = self.crm.entity_def(entity)
        if entity_def is None:
            return
        try:
            record = await self.records.get(entity, record_id)
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        await self.app.push_screen(RecordFormScreen(entity_def, record))

    def _highlighted_hit(self) -> NearbyHit | None:
        for hit in self.hits:
            if key_of(hit) == self.highlight:
                return hit
        return None

    # ----- map ---------------------------------------------------------------------------

    @work(group="nearby-map", exclusive=True)
    async def redraw_map(self) -> None:
        if self.view_centre is None:
            return
        grid = self.map
        width, height = grid.size.width, grid.size.height
        if width <= 0 or height <= 0:
            return
        if self.metres_per_cell is None:
            self.metres_per_cell = fit_scale(self.radius_m, width, height)
        lat, lon = self.view_centre
        view = MapView(
            lat,
            lon,
            self.metres_per_cell,
            width,
            height,
            self.crm.settings.map_mode,
            range_ring_m=self.radius_m,
        )
        signature = (lat, lon, tuple(key_of(h) for h in self.hits))
        if signature != self._projected_for:
            hits = list(self.hits)
            self._projected = await asyncio.to_thread(project_pins, lat, lon, pins_for_hits(hits))
            self._projected_for = signature
        projected = [
            dataclasses.replace(
                p, pin=dataclasses.replace(p.pin, highlighted=p.pin.key == self.highlight)
            )
            for p in self._projected
        ]
        fix = self.status.fix
        device = None
        if fix is not None:
            stale = self.status.state != LocationState.FIX
            device = DeviceMarker(fix.lat, fix.lon, fix.accuracy_m, stale=stale)
        elif self.last_known is not None:
            kept = self.last_known[0]
            device = DeviceMarker(kept.lat, kept.lon, kept.accuracy_m, stale=True)
        rendered = await asyncio.to_thread(render_projected, view, projected, device)
        grid.show(rendered)

    def action_zoom(self, factor: float) -> None:
        if self.metres_per_cell is None:
            return
        self.metres_per_cell = min(200_000.0, max(0.5, self.metres_per_cell * factor))
        self.redraw_map()

    def action_pan(self, east: int, north: int) -> None:
        if self.view_centre is None or self.metres_per_cell is None:
            return
        grid = self.map
        step_east = east * grid.size.width * PAN_FRACTION * self.metres_per_cell
        step_north = north * grid.size.height * PAN_FRACTION * self.metres_per_cell * 2.0
        self.view_centre = unproject(*self.view_centre, step_east, step_north)
        self.following = False
        self.redraw_map()

    def action_recentre(self) -> None:
        if self.centre is None:
            return
        self.view_centre = self.centre
        self.following = True
        self.metres_per_cell = None
        self.redraw_map()

    def action_radius(self) -> None:
        larger = [r for r in RADII_M if r > self.radius_m]
        self.radius_m = larger[0] if larger else RADII_M[0]
        self.metres_per_cell = None
        self.run_query()

    def action_entity(self) -> None:
        choices: list[str | None] = [None, *self.entities]
        position = choices.index(self.entity) if self.entity in choices else 0
        self.entity = choices[(position + 1) % len(choices)]
        self.run_query()

    def action_cursor(self, step: int) -> None:
        table = self.table
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    # ----- marks, route, check-in, here ----------------------------------------------------

    def action_mark(self) -> None:
        hit = self._highlighted_hit()
        if hit is None:
            return
        key = key_of(hit)
        self.marked ^= {key}
        index = self.hits.index(hit)
        self.table.update_cell(key, "marker", self._row(index, hit)[0])
        self._update_title()

    @work(group="nearby-route", exclusive=True)
    async def action_route(self) -> None:
        from tui_crm.ui.screens.nearby_route import RouteModal

        stops = [Stop(h.latitude, h.longitude, h) for h in self.hits if key_of(h) in self.marked]
        if not stops or self.centre is None:
            self.notify("Mark records with space first, then press o for the route")
            return
        try:
            route = await self.nearby.route(self.centre, stops)
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        await self.app.push_screen(RouteModal(route))

    @work(group="nearby-check-in", exclusive=True)
    async def action_check_in(self) -> None:
        hit = self._highlighted_hit()
        if hit is None:
            return
        try:
            done = await self.nearby.check_in(hit.entity, hit.id)
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        away = "" if done.distance_m is None else f", {format_distance(done.distance_m)} away"
        self.notify(f"Checked in at {hit.name or hit.id}{away}", markup=False)

    @work(group="nearby-here", exclusive=True)
    async def action_here(self) -> None:
        hit = self._highlighted_hit()
        if hit is None:
            return
        try:
            await self.nearby.use_record_as_here(hit.entity, hit.id)
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)

    def action_position(self) -> None:
        position = self.query_one("#nearby-position", QuietInput)
        position.display = True
        position.value = ""
        position.focus()

    @on(Input.Submitted, "#nearby-position")
    def position_entered(self, event: Input.Submitted) -> None:
        position = self.query_one("#nearby-position", QuietInput)
        try:
            lat_text, lon_text = event.value.replace(";", ",").split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            self.notify("Type latitude, longitude — e.g. 48.137, 11.575", severity="warning")
            return
        position.display = False
        self.table.focus()
        self.set_manual(lat, lon)

    @work(group="nearby-here", exclusive=True)
    async def set_manual(self, lat: float, lon: float) -> None:
        try:
            await self.nearby.set_manual_position(lat, lon)
        except DomainError as error:
            self.notify(str(error), severity="error", markup=False)

    def action_back(self) -> None:
        position = self.query_one("#nearby-position", QuietInput)
        if position.display:
            position.display = False
            self.table.focus()
            return
        self.app.pop_screen()


def _distance_cell(hit: NearbyHit) -> str:
    return format_distance(hit.distance_m)


def _bearing_cell(hit: NearbyHit) -> str:
    return "·" if hit.distance_m < 0.5 else compass_point(hit.bearing_deg)


def _metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    east, north = project(a[0], a[1], b[0], b[1])
    return float((east * east + north * north) ** 0.5)
