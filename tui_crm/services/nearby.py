"""NearbyService: the device's position and the records around it, only while Map is on.

With Map off nothing location-related happens at all: no source is built, no
socket to gpsd is opened, no device is read and no position is kept; every
call says so with `FeatureOff`. The index query runs on the DB thread, the
geodesic pass and map rendering in a worker thread, so the event loop only
awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_crm.config import LocationSettings, Settings, load_settings
from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import DomainError, FeatureOff
from tui_crm.domain.records import Record
from tui_crm.geo.fix import Fix, FixMode, LocationState, LocationStatus, is_usable_position
from tui_crm.geo.mapping import compass_point, fit_scale, marker_for, pins_for_hits
from tui_crm.geo.nearby import (
    Candidate,
    IndexEntry,
    NearbyHit,
    bounding_boxes,
    grow_radii,
    holds_the_nearest,
    measure,
    nearest_first,
    rank,
)
from tui_crm.geo.projection import project, unproject
from tui_crm.geo.render import (
    MAP_MODES,
    DeviceMarker,
    MapMode,
    MapPin,
    MapView,
    ProjectedPin,
    RenderedMap,
    StyleSpan,
    cell_index,
    format_distance,
    project_pins,
    render_map,
    render_projected,
)
from tui_crm.geo.route import Route, Stop, plan_route
from tui_crm.geo.sources import (
    FixedSource,
    GpsdSource,
    Listener,
    LocationSource,
    ManualSource,
    NmeaSource,
    Unsubscribe,
)
from tui_crm.geo.units import parse_distance
from tui_crm.store import kv, positions
from tui_crm.store.database import Connection, transaction
from tui_crm.store.entities import load_entities, load_entity

if TYPE_CHECKING:
    from tui_crm.services.session import Session

__all__ = [
    "MAP_MODES",
    "MAP_OFF_MESSAGE",
    "CheckIn",
    "DeviceMarker",
    "Fix",
    "LocationState",
    "LocationStatus",
    "MapMode",
    "MapPin",
    "MapView",
    "NearbyHit",
    "NearbyResult",
    "NearbyService",
    "NoPosition",
    "ProjectedPin",
    "RenderedMap",
    "Route",
    "Stop",
    "StyleSpan",
    "cell_index",
    "compass_point",
    "fit_scale",
    "format_distance",
    "marker_for",
    "parse_distance",
    "pins_for_hits",
    "project",
    "project_pins",
    "render_map",
    "render_projected",
    "unproject",
]

MAP_OFF_MESSAGE = "Map is off: turn it on in Setup (map_enabled) to use location and nearby"
LAST_KNOWN_KEY = "location.last_known"
DEFAULT_LIMIT = 50
NEAREST_START_M = 1_000.0
NEAREST_MAX_M = 200_000.0
CHECK_IN_KINDS = ("appointment", "phonecall")
CHECK_IN_WAIT_SECONDS = 15.0
"""How long a check-in from a record waits for a first fix (a receiver may need a moment)."""


class NoPosition(DomainError):
    """The location source has no usable position (yet)."""


@dataclass(frozen=True, slots=True)
class NearbyResult:
    hits: list[NearbyHit]
    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class CheckIn:
    activity: Record
    distance_m: float | None
    fix: Fix


SourceFactory = Callable[[LocationSettings], LocationSource]


def build_source(config: LocationSettings) -> LocationSource:
    """The configured source; constructing it opens nothing (that happens in `start`)."""
    if config.source == "gpsd":
        return GpsdSource(
            config.gpsd_host, config.gpsd_port, stale_after_s=config.stale_after_seconds
        )
    if config.source == "nmea":
        return NmeaSource(config.nmea_device, stale_after_s=config.stale_after_seconds)
    lat, lon = config.fixed_latitude, config.fixed_longitude
    if config.source == "fixed" and lat is not None and lon is not None:
        return FixedSource(lat, lon)
    return ManualSource()


class NearbyService:
    def __init__(
        self,
        session: Session,
        settings: Settings | None = None,
        *,
        source_factory: SourceFactory = build_source,
    ) -> None:
        self._session = session
        self._settings = settings
        self._source_factory = source_factory
        self._source: LocationSource | None = None
        self._listeners: list[Listener] = []
        self._unsubscribe_source: Unsubscribe | None = None
        if settings is not None and not settings.map_enabled:
            self._forget_position()

    # --- configuration and life cycle -------------------------------------------------

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def configure(self, settings: Settings) -> None:
        """Use these settings (the CLI's or the interface's) from now on.

        With Map off (in Setup, the config file or the environment) any stored
        position is erased here, so it never outlives the switch, whichever
        way Map was turned off. The app configures this at unlock.
        """
        self._settings = settings
        if not settings.map_enabled:
            self._forget_position()

    def _forget_position(self) -> None:
        """Erase the kept position: queued on the DB thread ahead of any read, not awaited,
        so configuring from the event loop never waits on the disk."""

        def erase(conn: Connection) -> None:
            if kv.get_value(conn, "settings", LAST_KNOWN_KEY) is not None:
                with transaction(conn):
                    kv.set_value(conn, "settings", LAST_KNOWN_KEY, None)

        self._session.enqueue(erase)

    @property
    def map_enabled(self) -> bool:
        return self.settings.map_enabled

    def _require_map(self) -> None:
        if not self.map_enabled:
            raise FeatureOff(MAP_OFF_MESSAGE)

    async def start(self) -> LocationStatus:
        """Start the configured location source (idempotent)."""
        self._require_map()
        if self._source is None:
            source = self._source_factory(self.settings.location)
            self._unsubscribe_source = source.subscribe(self._relay)
            self._source = source
            await source.start()
        return self._source.status()

    async def stop(self) -> None:
        """Stop the source, keeping the last position (encrypted) for the next start."""
        source, self._source = self._source, None
        if source is None:
            return
        if self._unsubscribe_source is not None:
            self._unsubscribe_source()
            self._unsubscribe_source = None
        fix = source.status().fix
        await source.stop()
        if fix is None or not self.map_enabled or self._session.closed:
            return
        kept = {"lat": fix.lat, "lon": fix.lon, "accuracy_m": fix.accuracy_m, "at": time.time()}
        with contextlib.suppress(DomainError, RuntimeError):
            # Best effort: a damaged or closing profile must not stop the lock from happening.
            await self._session.settings.set(LAST_KNOWN_KEY, kept)

    async def set_map_enabled(self, on: bool) -> None:
        """Turning Map off stops the source and forgets every stored position."""
        settings = self.settings.model_copy(update={"map_enabled": on})
        if not on:
            self._settings = settings
            source, self._source = self._source, None
            if self._unsubscribe_source is not None:
                self._unsubscribe_source()
                self._unsubscribe_source = None
            if source is not None:
                await source.stop()
            await self._session.settings.set(LAST_KNOWN_KEY, None)
            self._relay(LocationStatus(LocationState.OFF))
            return
        self._settings = settings

    def status(self) -> LocationStatus:
        if not self.map_enabled:
            return LocationStatus(LocationState.OFF, detail=MAP_OFF_MESSAGE)
        if self._source is None:
            return LocationStatus(LocationState.OFF, detail="location source not started")
        return self._source.status()

    def subscribe(self, listener: Listener) -> Unsubscribe:
        """Called with every status change (new fix, no fix, stale, error)."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _relay(self, status: LocationStatus) -> None:
        for listener in list(self._listeners):
            listener(status)

    async def last_known(self) -> Fix | None:
        """The position kept from the previous run (age unknown to the monotonic clock)."""
        kept = await self.last_known_with_age()
        return None if kept is None else kept[0]

    async def last_known_with_age(self) -> tuple[Fix, float | None] | None:
        """The kept position and how long ago (wall clock, seconds) it was saved."""
        self._require_map()
        value = await self._session.settings.get(LAST_KNOWN_KEY)
        if not isinstance(value, dict):
            return None
        if not is_usable_position(value.get("lat"), value.get("lon")):
            return None
        accuracy = value.get("accuracy_m")
        fix = Fix(
            float(value["lat"]),
            float(value["lon"]),
            float(accuracy) if isinstance(accuracy, int | float) else None,
            mode=FixMode.FIX_2D,
            received_at=float("-inf"),
        )
        at = value.get("at")
        age = None
        if isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at):
            age = max(0.0, time.time() - float(at))
        return fix, age

    async def current_fix(self, *, wait_s: float = 0.0) -> Fix:
        """The source's position, waiting up to `wait_s` for a first fix."""
        status = await self.start()
        if status.fix is None and wait_s > 0:
            status = await self._wait_for_fix(wait_s)
        if status.fix is None:
            detail = f" ({status.detail})" if status.detail else ""
            raise NoPosition(f"no position from the location source{detail}")
        return status.fix

    async def _wait_for_fix(self, wait_s: float) -> LocationStatus:
        arrived = asyncio.Event()

        def on_status(status: LocationStatus) -> None:
            if status.fix is not None:
                arrived.set()

        unsubscribe = self.subscribe(on_status)
        try:
            # A fix that came between the caller's look and the subscription counts too.
            if self.status().fix is None:
                await asyncio.wait_for(arrived.wait(), wait_s)
        except TimeoutError:
            pass
        finally:
            unsubscribe()
        return self.status()

    async def set_manual_position(self, lat: float, lon: float) -> None:
        """Switch to a manual position (typed in, or a record picked as "here")."""
        self._require_map()
        if not is_usable_position(lat, lon):
            raise DomainError("position out of range: latitude -90..90, longitude -180..180")
        if not isinstance(self._source, ManualSource):
            await self.stop()
            manual = ManualSource()
            self._unsubscribe_source = manual.subscribe(self._relay)
            self._source = manual
            await manual.start()
        assert isinstance(self._source, ManualSource)
        self._source.set_position(lat, lon)

    async def use_record_as_here(self, entity: str, record_id: str) -> None:
        definition = await self._session.records.entity(entity)
        record = await self._session.records.get(entity, record_id)
        position = record_position(definition, record)
        if position is None:
            raise NoPosition(f"this {definition.label.lower()} has no position")
        await self.set_manual_position(*position)

    # --- queries ----------------------------------------------------------------------

    async def positional_entities(self, entities: Sequence[str] | None = None) -> list[str]:
        """The asked entities (checked to exist), or every entity that has a position."""
        return await self._session.run(lambda conn: _entity_names(conn, entities))

    async def nearby(
        self,
        lat: float,
        lon: float,
        radius_m: float,
        entities: Sequence[str] | None = None,
        limit: int | None = DEFAULT_LIMIT,
    ) -> NearbyResult:
        """Records within `radius_m` of (lat, lon), nearest first."""
        self._require_map()
        _check_query(lat, lon, radius_m)
        hits = await self._search(lat, lon, radius_m, entities, limit)
        return NearbyResult(hits, lat, lon, radius_m)

    async def nearest(
        self,
        lat: float,
        lon: float,
        k: int,
        entities: Sequence[str] | None = None,
        *,
        start_m: float = NEAREST_START_M,
        max_m: float = NEAREST_MAX_M,
    ) -> NearbyResult:
        """The k nearest, growing the radius until k are inside the circle or `max_m`."""
        self._require_map()
        _check_query(lat, lon, max_m)
        hits: list[NearbyHit] = []
        radius = max_m
        for radius in grow_radii(start_m, max_m):
            hits = await self._search(lat, lon, radius, entities, k)
            if len(hits) >= k:
                break
        return NearbyResult(hits, lat, lon, radius)

    async def _search(
        self,
        lat: float,
        lon: float,
        radius_m: float,
        entities: Sequence[str] | None,
        limit: int | None,
    ) -> list[NearbyHit]:
        """One hop to the DB thread for the index and the records, one to a worker
        for the geodesics."""
        boxes = bounding_boxes(lat, lon, radius_m)

        def candidates(conn: Connection) -> list[positions.PositionRow]:
            names = _entity_names(conn, entities)
            if not names:
                return []
            entries = [IndexEntry(*e) for e in positions.index_entries(conn, boxes)]
            order = nearest_first(entries, lat, lon, radius_m)
            return _read_nearest(conn, order, names, lat, lon, radius_m, limit)

        rows = await self._session.run(candidates)
        return await asyncio.to_thread(_rank_rows, rows, lat, lon, radius_m, limit)

    async def unplaced(self, entities: Sequence[str] | None = None) -> int:
        """How many records of these entities cannot be placed (no or invalid coordinates)."""
        self._require_map()
        names = await self.positional_entities(entities)
        return await self._session.run(lambda conn: positions.count_unplaced(conn, names))

    async def render(
        self, view: MapView, pins: Sequence[MapPin], device: DeviceMarker | None = None
    ) -> RenderedMap:
        """Render off the event loop (1,000 pins means 1,000 geodesics)."""
        self._require_map()
        return await asyncio.to_thread(render_map, view, pins, device)

    async def route(self, start: tuple[float, float], stops: Sequence[Stop[Any]]) -> Route[Any]:
        self._require_map()
        return await asyncio.to_thread(plan_route, start, stops)

    # --- check-in ---------------------------------------------------------------------

    async def check_in(
        self, entity: str, record_id: str, *, kind: str = "appointment", note: str = ""
    ) -> CheckIn:
        """Log an activity regarding the record, stamped with where the device is."""
        self._require_map()
        if kind not in CHECK_IN_KINDS:
            raise DomainError(f"check-in kind must be one of {', '.join(CHECK_IN_KINDS)}")
        status = self.status()
        fix = status.fix
        if fix is None:
            raise NoPosition("no position to check in with")
        definition = await self._session.records.entity(entity)
        record = await self._session.records.get(entity, record_id)
        activity_def = await self._session.records.entity(kind)
        target = record_position(definition, record)
        distance = None
        if target is not None:
            candidate = Candidate(entity, record_id, record.name, target[0], target[1])
            distance = measure(fix.lat, fix.lon, candidate).distance_m
        values = check_in_values(
            activity_def, definition, record, fix, distance, status.state, note, self._session.now()
        )
        activity = await self._session.records.create(kind, values)
        return CheckIn(activity, distance, fix)

    async def check_in_from_record(
        self,
        entity: str,
        record_id: str,
        *,
        kind: str = "appointment",
        note: str = "",
        wait_seconds: float = CHECK_IN_WAIT_SECONDS,
    ) -> CheckIn:
        """A check-in from the record's own screen, where no source may be running.

        Starts the source if needed, waits a bounded time for a position, checks
        in, and stops again what it started: the device is not left listening
        to the receiver because of one check-in.
        """
        self._require_map()
        started_here = self._source is None
        try:
            await self.start()
            if self.status().fix is None:
                await self._wait_for_fix(wait_seconds)
            return await self.check_in(entity, record_id, kind=kind, note=note)
        finally:
            if started_here:
                await self.stop()


def _entity_names(conn: Connection, entities: Sequence[str] | None) -> list[str]:
    if entities:
        return [load_entity(conn, name).name for name in entities]
    return [e.name for e in load_entities(conn) if e.has_position]


FIRST_READ_EXTRA = 16
"""Records read beyond `limit` on the first try, for entries of other entities."""


def _read_nearest(
    conn: Connection,
    order: Sequence[tuple[float, int]],
    entities: Sequence[str],
    lat: float,
    lon: float,
    radius_m: float,
    limit: int | None,
) -> list[positions.PositionRow]:
    """The records of the nearest index entries, read in growing batches until no
    entry left unread could be among the `limit` nearest (all, without a limit).

    A record is a random page of the file (a page to decrypt), the index entries
    are not: at 1M records, reading every record in the box was most of a query.
    """
    keys = [key for _, key in order]
    if limit is None:
        return positions.rows_at(conn, keys, entities)
    rows: list[positions.PositionRow] = []
    start, batch = 0, limit + FIRST_READ_EXTRA
    while start < len(keys):
        rows += positions.rows_at(conn, keys[start : start + batch], entities)
        start += batch
        if start >= len(keys):
            break
        if holds_the_nearest(_as_candidates(rows), lat, lon, radius_m, limit, order[start][0]):
            break
        batch *= 2
    return rows


def _as_candidates(rows: Sequence[positions.PositionRow]) -> list[Candidate]:
    return [Candidate(r.entity, r.id, r.name, r.latitude, r.longitude) for r in rows]


def _rank_rows(
    rows: Sequence[positions.PositionRow],
    lat: float,
    lon: float,
    radius_m: float,
    limit: int | None,
) -> list[NearbyHit]:
    return rank(_as_candidates(rows), lat, lon, radius_m, limit)


def _check_query(lat: float, lon: float, radius_m: float) -> None:
    if not is_usable_position(lat, lon):
        raise DomainError("position out of range: latitude -90..90, longitude -180..180")
    if not radius_m >= 0 or radius_m > 20_100_000:
        raise DomainError("radius must be between 0 and 20,100 km")


def record_position(definition: EntityDef, record: Record) -> tuple[float, float] | None:
    if not definition.has_position:
        return None
    lat = record.fields.get(definition.latitude_field or "")
    lon = record.fields.get(definition.longitude_field or "")
    if (
        is_usable_position(lat, lon)
        and isinstance(lat, int | float)
        and isinstance(lon, int | float)
    ):
        return float(lat), float(lon)
    return None


def check_in_values(
    activity: EntityDef,
    regarding: EntityDef,
    record: Record,
    fix: Fix,
    distance_m: float | None,
    state: LocationState,
    note: str,
    now: str,
) -> dict[str, Any]:
    """The activity's fields; only fields the activity entity really has are set."""
    where = f"{fix.lat:.6f}, {fix.lon:.6f}"
    accuracy = "unknown" if fix.accuracy_m is None else f"±{fix.accuracy_m:.0f} m"
    away = (
        "the record has no position"
        if distance_m is None
        else f"{format_distance(distance_m)} from the record"
    )
    freshness = "" if state == LocationState.FIX else f" (position {state.value})"
    lines = [f"Checked in at {where}, accuracy {accuracy}{freshness}; {away}."]
    if note.strip():
        lines.append(note.strip())
    label = record.name or regarding.label
    candidates: dict[str, Any] = {
        activity.primary_name: f"Check-in: {label}"[:200],
        "description": "\n".join(lines),
        "location": where,
        "scheduledstart": now,
        "scheduledend": now,
        "regardingobjectid": {"entity": record.entity, "id": record.id},
    }
    values: dict[str, Any] = {}
    for name, value in candidates.items():
        field = activity.field(name)
        if field is None:
            continue
        if name == "regardingobjectid" and record.entity not in field.targets:
            continue
        values[name] = value
    return values
