"""NearbyService on a real encrypted profile: index query vs brute force, Map off, check-in."""

from __future__ import annotations

import asyncio
import errno
import os
import random
import uuid
from pathlib import Path

import pytest
from geo_fixtures import LOW_KDF, ConnectionCounter, geo_settings, put_places
from geographiclib.geodesic import Geodesic

from tui_crm.domain.errors import EntityUnknown, FeatureOff
from tui_crm.geo.fix import LocationState
from tui_crm.geo.nearby import bounding_boxes, normalize_lon
from tui_crm.services.nearby import LAST_KNOWN_KEY, NearbyService, NoPosition
from tui_crm.services.session import Session
from tui_crm.store import positions
from tui_crm.store.database import Connection

WGS84 = Geodesic.WGS84
ENTITIES = ("account", "contact", "lead")


def brute(
    places: list[tuple[str, str, str, float, float]],
    lat: float,
    lon: float,
    radius: float,
    entities: tuple[str, ...] = ENTITIES,
) -> list[tuple[str, str, float, float]]:
    rows = []
    for entity, ident, _, plat, plon in places:
        if entity not in entities:
            continue
        g = WGS84.Inverse(lat, lon, plat, plon)
        if g["s12"] <= radius:
            rows.append((entity, ident, g["s12"], g["azi1"] % 360))
    return sorted(rows, key=lambda r: (r[2], r[0], r[1]))


def worldwide(
    rng: random.Random, centres: list[tuple[float, float]], count: int
) -> list[tuple[str, str, str, float, float]]:
    places = []
    for i in range(count):
        if i % 3 == 0:
            lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        else:
            clat, clon = centres[i % len(centres)]
            d = WGS84.Direct(clat, clon, rng.uniform(0, 360), rng.uniform(0, 60_000))
            lat, lon = d["lat2"], normalize_lon(d["lon2"])
        places.append((ENTITIES[i % 3], f"id-{i:05d}", f"Place {i}", lat, lon))
    for j, (clat, clon) in enumerate(centres):
        places.append(("account", f"at-centre-{j}", "Centre", clat, normalize_lon(clon)))
    return places


CENTRES = [
    (48.1173, 11.5167),
    (0.2, 179.99),
    (-16.5, -179.995),
    (89.97, 33.0),
    (-89.99, -70.0),
    (0.0, 0.0),
]


async def test_store_backed_search_matches_a_brute_force_scan(session: Session) -> None:
    places = worldwide(random.Random(7), CENTRES, 700)
    await put_places(session, places)
    compared = 0
    for lat, lon in CENTRES:
        for radius in (0.0, 900.0, 45_000.0):
            expected = brute(places, lat, lon, radius)
            result = await session.nearby.nearby(lat, lon, radius, limit=None)
            got = [(h.entity, h.id, h.distance_m, h.bearing_deg) for h in result.hits]
            assert got == expected, (lat, lon, radius)
            limited = await session.nearby.nearby(lat, lon, radius, limit=7)
            assert [(h.entity, h.id) for h in limited.hits] == [
                (e, i) for e, i, _, _ in expected[:7]
            ]
            compared += len(expected)
    assert compared > 250


async def test_entity_filter_and_unknown_entity(session: Session) -> None:
    places = worldwide(random.Random(3), CENTRES[:1], 300)
    await put_places(session, places)
    lat, lon = CENTRES[0]
    result = await session.nearby.nearby(lat, lon, 50_000, ["contact"], limit=None)
    assert {h.entity for h in result.hits} == {"contact"}
    assert [h.id for h in result.hits] == [
        i for _, i, _, _ in brute(places, lat, lon, 50_000, ("contact",))
    ]
    with pytest.raises(EntityUnknown):
        await session.nearby.nearby(lat, lon, 1000, ["nosuchentity"])


async def test_missing_and_invalid_positions_are_left_out_and_counted(session: Session) -> None:
    await put_places(
        session,
        [
            ("account", "ok", "Placed", 48.0, 11.0),
            ("account", "no-lat", "No latitude", None, 11.0),
            ("account", "bad-lat", "Latitude 95", 95.0, 11.0),
            ("contact", "bad-lon", "Longitude text", 48.0, "eleven"),
            ("contact", "nan", "Not a number", float("nan"), 11.0),
        ],
    )
    result = await session.nearby.nearby(48.0, 11.0, 100_000, limit=None)
    assert [h.id for h in result.hits] == ["ok"]
    assert await session.nearby.unplaced() == 4
    assert await session.nearby.unplaced(["contact"]) == 2


async def test_deleted_records_disappear_from_nearby(session: Session) -> None:
    await put_places(
        session, [("account", "a", "Stays", 48.0, 11.0), ("account", "b", "Goes", 48.001, 11.0)]
    )
    await session.records.delete("account", "b")
    result = await session.nearby.nearby(48.0, 11.0, 1000)
    assert [h.id for h in result.hits] == ["a"]


async def test_nearest_k_grows_the_radius_until_enough(session: Session) -> None:
    places = [
        ("account", f"r{i}", f"R{i}", *_at(48.0, 11.0, 90.0, 3000.0 * (i + 1))) for i in range(6)
    ]
    await put_places(session, places)
    result = await session.nearby.nearest(48.0, 11.0, 4, start_m=1000, max_m=100_000)
    assert [h.id for h in result.hits] == ["r0", "r1", "r2", "r3"]
    assert result.radius_m == 16_000  # 1, 2, 4, 8 km were not enough
    capped = await session.nearby.nearest(48.0, 11.0, 10, start_m=1000, max_m=10_000)
    assert [h.id for h in capped.hits] == ["r0", "r1", "r2"] and capped.radius_m == 10_000


def _at(lat: float, lon: float, azimuth: float, distance: float) -> tuple[float, float]:
    d = WGS84.Direct(lat, lon, azimuth, distance)
    return d["lat2"], d["lon2"]


async def test_map_off_refuses_everything_and_never_connects_to_gpsd(
    session: Session, tmp_path: Path
) -> None:
    async with ConnectionCounter() as gpsd:
        session.nearby.configure(
            geo_settings(tmp_path, map_enabled=False, source="gpsd", gpsd_port=gpsd.port)
        )
        await put_places(session, [("account", "a", "A", 48.0, 11.0)])
        for call in (
            session.nearby.start(),
            session.nearby.current_fix(wait_s=0.2),
            session.nearby.nearby(48.0, 11.0, 1000),
            session.nearby.nearest(48.0, 11.0, 3),
            session.nearby.check_in("account", "a"),
            session.nearby.set_manual_position(48.0, 11.0),
            session.nearby.last_known(),
        ):
            with pytest.raises(FeatureOff, match="Map is off"):
                await call
        assert session.nearby.status().state == LocationState.OFF
        await asyncio.sleep(0.2)
        assert gpsd.connections == 0
        assert await session.settings.get(LAST_KNOWN_KEY) is None

        # The same listener does see the source once Map is on: the check above can fail.
        await session.nearby.set_map_enabled(True)
        await session.nearby.start()
        for _ in range(100):
            if gpsd.connections:
                break
            await asyncio.sleep(0.02)
        assert gpsd.connections >= 1
        await session.nearby.set_map_enabled(False)
        seen = gpsd.connections
        await asyncio.sleep(1.2)  # longer than the source's first retry delay
        assert gpsd.connections == seen


async def test_turning_map_off_forgets_the_stored_position(
    session: Session, tmp_path: Path
) -> None:
    session.nearby.configure(
        geo_settings(tmp_path, source="fixed", fixed_latitude=48.0, fixed_longitude=11.0)
    )
    await session.nearby.start()
    await session.nearby.stop()
    kept = await session.nearby.last_known()
    assert kept is not None and (kept.lat, kept.lon) == (48.0, 11.0)
    await session.nearby.set_map_enabled(False)
    assert await session.settings.get(LAST_KNOWN_KEY) is None


async def test_fixed_and_manual_positions(session: Session, tmp_path: Path) -> None:
    session.nearby.configure(
        geo_settings(tmp_path, source="fixed", fixed_latitude=10.5, fixed_longitude=-20.25)
    )
    fix = await session.nearby.current_fix()
    assert (fix.lat, fix.lon) == (10.5, -20.25)
    await session.nearby.set_manual_position(1.0, 2.0)
    assert session.nearby.status().fix is not None
    assert (session.nearby.status().fix.lat, session.nearby.status().fix.lon) == (1.0, 2.0)  # type: ignore[union-attr]
    with pytest.raises(Exception, match="out of range"):
        await session.nearby.set_manual_position(100.0, 2.0)


async def test_a_manual_source_without_input_has_no_position(
    session: Session, tmp_path: Path
) -> None:
    session.nearby.configure(geo_settings(tmp_path, source="manual"))
    with pytest.raises(NoPosition):
        await session.nearby.current_fix(wait_s=0.05)


async def test_use_record_as_here(session: Session) -> None:
    await put_places(
        session,
        [("account", "hq", "HQ", 52.52, 13.405), ("account", "nowhere", "No place", None, None)],
    )
    await session.nearby.use_record_as_here("account", "hq")
    fix = await session.nearby.current_fix()
    assert (fix.lat, fix.lon) == (52.52, 13.405)
    with pytest.raises(NoPosition):
        await session.nearby.use_record_as_here("account", "nowhere")


async def test_check_in_logs_an_activity_with_position_accuracy_and_distance(
    session: Session,
) -> None:
    lat, lon = _at(48.0, 11.0, 0.0, 250.0)
    cust = str(uuid.uuid4())
    await put_places(session, [("account", cust, "Customer GmbH", lat, lon)])
    await session.nearby.set_manual_position(48.0, 11.0)
    done = await session.nearby.check_in("account", cust, kind="appointment", note="met the buyer")
    assert done.distance_m == pytest.approx(250.0, abs=1e-6)
    stored = await session.records.get("appointment", done.activity.id)
    assert stored.fields["subject"] == "Check-in: Customer GmbH"
    assert stored.fields["regardingobjectid"] == {"entity": "account", "id": cust}
    assert stored.fields["location"] == "48.000000, 11.000000"
    assert "250 m from the record" in stored.fields["description"]
    assert "met the buyer" in stored.fields["description"]
    assert "accuracy unknown" in stored.fields["description"]
    outbox = await session.records.outbox()
    assert any(c.entity == "appointment" and c.record_id == done.activity.id for c in outbox)

    call = await session.nearby.check_in("account", cust, kind="phonecall")
    phonecall = await session.records.get("phonecall", call.activity.id)
    assert phonecall.fields["regardingobjectid"]["id"] == cust
    with pytest.raises(Exception, match="check-in kind"):
        await session.nearby.check_in("account", cust, kind="task")


async def test_check_in_needs_a_position(session: Session, tmp_path: Path) -> None:
    await put_places(session, [("account", "cust", "Customer", 48.0, 11.0)])
    session.nearby.configure(geo_settings(tmp_path, source="manual"))
    await session.nearby.start()
    with pytest.raises(NoPosition):
        await session.nearby.check_in("account", "cust")


async def test_invalid_query_input_is_refused(session: Session) -> None:
    with pytest.raises(Exception, match="out of range"):
        await session.nearby.nearby(91.0, 0.0, 100)
    with pytest.raises(Exception, match="radius"):
        await session.nearby.nearby(0.0, 0.0, -5)


async def test_the_index_alone_finds_entries_and_records_are_read_by_rowid(
    session: Session,
) -> None:
    """The plans of the statements the product runs: the box search reads only the
    R*Tree (never a `records` page, which is a random page of the file), and the
    records of the chosen entries are fetched by rowid, not found by a scan. Plans
    are taken after ANALYZE with many records, as a grown profile has.
    """
    rng = random.Random(5)
    await put_places(
        session,
        [
            ("account", str(uuid.uuid4()), f"A{i}", rng.uniform(-60, 60), rng.uniform(-179, 179))
            for i in range(400)
        ],
    )
    await session.write(lambda conn: conn.execute("ANALYZE"))
    boxes = [*bounding_boxes(10.0, 179.99, 10_000.0), *bounding_boxes(0.0, 0.0, 500.0)]
    assert len(boxes) >= 3  # the antimeridian split gives a UNION of several boxes
    sql, args = positions.entries_statement(boxes)
    plan = await session.run(
        lambda conn: conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
    )
    scans = [str(row[3]) for row in plan if str(row[3]).startswith(("SCAN", "SEARCH"))]
    assert len(scans) == len(boxes), plan
    assert all(s.startswith("SCAN record_positions VIRTUAL TABLE INDEX") for s in scans), plan
    for entities in (["account"], ["account", "contact"]):
        rows_sql, _ = positions.rows_statement(entities)
        rows_plan = await session.run(
            lambda conn, q=rows_sql, e=entities: conn.execute(  # type: ignore[misc]
                "EXPLAIN QUERY PLAN " + q, ["[1, 2, 3]", *e]
            ).fetchall()
        )
        details = [str(row[3]) for row in rows_plan]
        assert any(d.startswith("SEARCH r USING INTEGER PRIMARY KEY (rowid=?)") for d in details)
        assert not any(d.startswith("SCAN r") for d in details), rows_plan
    # and these are the statements a search really executes
    executed: list[str] = []

    class Recording:
        def __init__(self, conn: Connection) -> None:
            self._conn = conn

        def execute(self, statement: str, params: object = ()) -> object:
            executed.append(statement)
            return self._conn.execute(statement, params)

    await session.run(lambda conn: positions.index_entries(Recording(conn), boxes))
    await session.run(lambda conn: positions.rows_at(Recording(conn), [1, 2], ["account"]))
    assert executed == [sql, positions.rows_statement(["account"])[0]]


async def test_a_limited_search_reads_few_records_and_still_matches_brute_force(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dense places: the box holds hundreds of entries, the 10 nearest need about
    as many record reads; the answer is the brute-force one for every entity filter."""
    rng = random.Random(11)
    centre = (48.1173, 11.5167)
    places = []
    for i in range(900):
        d = WGS84.Direct(*centre, rng.uniform(0, 360), rng.uniform(0, 8_000))
        places.append((ENTITIES[i % 3], f"d-{i:04d}", f"Dense {i}", d["lat2"], d["lon2"]))
    await put_places(session, places)
    read: list[int] = []
    rows_at = positions.rows_at

    def counted(conn: Connection, rowids: list[int], entities: list[str]) -> object:
        read.extend(rowids)
        return rows_at(conn, rowids, entities)

    monkeypatch.setattr(positions, "rows_at", counted)
    for entities in (None, ("contact",), ("account", "lead")):
        for limit in (1, 10, 50):
            read.clear()
            chosen = ENTITIES if entities is None else entities
            expected = brute(places, *centre, 10_000.0, chosen)[:limit]
            result = await session.nearby.nearby(
                *centre, 10_000.0, None if entities is None else list(entities), limit=limit
            )
            got = [(h.entity, h.id, h.distance_m, h.bearing_deg) for h in result.hits]
            assert got == expected, (entities, limit)
            share = len(chosen) / len(ENTITIES)
            assert len(read) <= 4 * (limit + 16) / share, (entities, limit, len(read))
    read.clear()
    everything = await session.nearby.nearby(*centre, 10_000.0, limit=None)
    assert len(everything.hits) == 900 and len(read) == 900


async def keep_a_position(session: Session, tmp_path: Path) -> None:
    session.nearby.configure(
        geo_settings(tmp_path, source="fixed", fixed_latitude=48.0, fixed_longitude=11.0)
    )
    await session.nearby.start()
    await session.nearby.stop()
    assert await session.settings.get(LAST_KNOWN_KEY) is not None


async def test_map_off_in_the_config_erases_the_stored_position(
    session: Session, tmp_path: Path
) -> None:
    """Not only Setup's switch: configuring (or building) the service with Map off erases it."""
    await keep_a_position(session, tmp_path)
    session.nearby.configure(geo_settings(tmp_path, map_enabled=False))
    assert await session.settings.get(LAST_KNOWN_KEY) is None

    await keep_a_position(session, tmp_path)
    NearbyService(session, geo_settings(tmp_path, map_enabled=False))
    assert await session.settings.get(LAST_KNOWN_KEY) is None


async def test_a_session_opened_with_map_off_keeps_no_position(tmp_path: Path) -> None:
    """Map switched off in the config file between runs: unlocking the app erases it."""
    from tests.ui.conftest import PASSWORD, unlock
    from tui_crm.services.profile import ProfileService
    from tui_crm.ui.app import CrmApp

    folder = tmp_path / "profile"
    first = await ProfileService(folder, kdf=LOW_KDF).create(PASSWORD)
    try:
        await keep_a_position(first, tmp_path)
    finally:
        await first.close()
    app = CrmApp(geo_settings(tmp_path, map_enabled=False), config_path=tmp_path / "c.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        for _ in range(200):
            if app.session is not None and app.entity_defs:
                break
            await pilot.pause(0.02)
        assert app.session is not None
        assert await app.session.settings.get(LAST_KNOWN_KEY) is None


def has_reader(fifo: Path) -> bool:
    """Opening a FIFO's write end without blocking fails (ENXIO) while nobody reads it."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as error:
        assert error.errno == errno.ENXIO
        return False
    os.close(fd)
    return True


async def test_map_off_never_opens_the_nmea_device(session: Session, tmp_path: Path) -> None:
    fifo = tmp_path / "gps0"
    os.mkfifo(fifo)
    session.nearby.configure(
        geo_settings(tmp_path, map_enabled=False, source="nmea", nmea_device=str(fifo))
    )
    for call in (
        session.nearby.start(),
        session.nearby.current_fix(wait_s=0.2),
        session.nearby.nearby(48.0, 11.0, 1000),
    ):
        with pytest.raises(FeatureOff):
            await call
    await asyncio.sleep(0.2)
    assert not has_reader(fifo)
    fds = [os.readlink(p) for p in Path("/proc/self/fd").iterdir() if p.exists()]
    assert str(fifo) not in fds

    # The same probe sees the device opened once Map is on: the check above can fail.
    await session.nearby.set_map_enabled(True)
    await session.nearby.start()
    assert has_reader(fifo)
    await session.nearby.stop()
    assert not has_reader(fifo)


async def test_check_in_from_a_record_starts_only_what_it_needs_and_stops_it(
    session: Session, tmp_path: Path
) -> None:
    lat, lon = _at(48.0, 11.0, 90.0, 120.0)
    cust = str(uuid.uuid4())
    await put_places(session, [("account", cust, "Customer", lat, lon)])
    session.nearby.configure(
        geo_settings(tmp_path, source="fixed", fixed_latitude=48.0, fixed_longitude=11.0)
    )
    assert session.nearby.status().detail == "location source not started"
    done = await session.nearby.check_in_from_record("account", cust)
    assert done.distance_m == pytest.approx(120.0, abs=1e-6)
    assert (await session.records.get("appointment", done.activity.id)).fields[
        "regardingobjectid"
    ] == {"entity": "account", "id": cust}
    assert session.nearby.status().detail == "location source not started", "stopped again"

    # Started by the Nearby screen: left running for it.
    await session.nearby.start()
    await session.nearby.check_in_from_record("account", cust, kind="phonecall")
    assert session.nearby.status().state == LocationState.FIX


async def test_check_in_from_a_record_waits_a_bounded_time_then_says_no_position(
    session: Session, tmp_path: Path
) -> None:
    await put_places(session, [("account", "cust", "Customer", 48.0, 11.0)])
    async with ConnectionCounter() as gpsd:  # accepts, never sends a report
        session.nearby.configure(geo_settings(tmp_path, source="gpsd", gpsd_port=gpsd.port))
        with pytest.raises(NoPosition):
            await session.nearby.check_in_from_record("account", "cust", wait_seconds=0.3)
        assert gpsd.connections >= 1
        assert session.nearby.status().detail == "location source not started"
    assert not [c for c in await session.records.outbox() if c.entity == "appointment"]

    off = geo_settings(tmp_path, map_enabled=False, source="gpsd", gpsd_port=gpsd.port)
    session.nearby.configure(off)
    with pytest.raises(FeatureOff):
        await session.nearby.check_in_from_record("account", "cust")
