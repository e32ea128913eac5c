"""The Nearby screen driven with Pilot on a real profile: layout, live updates, Map off."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from geo_fixtures import LOW_KDF, ConnectionCounter, put_places
from geographiclib.geodesic import Geodesic
from textual.widgets import DataTable

from tests.ui.conftest import PASSWORD, open_list, unlock, wait_until
from tui_crm.config import LocationSettings, Settings
from tui_crm.services.nearby import project
from tui_crm.services.profile import ProfileService
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.nearby import NearbyScreen
from tui_crm.ui.widgets.map_view import MapGrid

WGS84 = Geodesic.WGS84
CENTRE = (48.1373, 11.5755)


async def make_profile(tmp_path: Path, names: list[str] | None = None) -> Path:
    """Accounts at 300 m, 600 m, ... around CENTRE, turning 45 degrees each (ids ...0 to ...7)."""
    folder = tmp_path / "profile"
    session = await ProfileService(folder, kdf=LOW_KDF).create(PASSWORD)
    rows = []
    for i, name in enumerate(names or [f"Shop {i}" for i in range(8)]):
        d = WGS84.Direct(*CENTRE, 45.0 * i, 300.0 * (i + 1))
        rows.append(
            (
                "account" if i % 4 != 3 else "contact",
                f"00000000-0000-4000-8000-00000000000{i}",
                name,
                d["lat2"],
                d["lon2"],
            )
        )
    try:
        await put_places(session, [*rows, ("contact", "c-nowhere", "No address", None, None)])
    finally:
        await session.close()
    return folder


def app_for(tmp_path: Path, folder: Path, **overrides: Any) -> CrmApp:
    settings = Settings(
        profile=folder,
        kdf=LOW_KDF,
        location=LocationSettings(source="manual"),
        map_mode="ascii",
        **overrides,
    )
    return CrmApp(settings, config_path=tmp_path / "config.toml")


async def open_nearby(pilot: Any) -> NearbyScreen:
    await unlock(pilot)
    await pilot.press("m")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, NearbyScreen), "nearby screen")
    screen = pilot.app.screen
    assert isinstance(screen, NearbyScreen)
    return screen


async def test_map_above_list_at_80x24_and_live_updates(tmp_path: Path) -> None:
    folder = await make_profile(tmp_path)
    app = app_for(tmp_path, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nearby(pilot)
        assert "type one or pick a record" in str(screen.query_one("#nearby-status").render())
        assert app.session is not None
        await app.session.nearby.set_manual_position(*CENTRE)
        table = screen.query_one("#nearby-list", DataTable)
        await wait_until(pilot, lambda: table.row_count == 8, "eight rows")
        grid = screen.query_one("#nearby-map", MapGrid)
        await wait_until(
            pilot,
            lambda: (
                grid.rendered is not None
                and len(grid.rendered.pin_cells) + grid.rendered.hidden_pins == 8
            ),
            "map drawn with every pin",
        )
        # The two nearest share the device's cell at this scale: the device marker wins it.
        assert grid.rendered is not None and grid.rendered.hidden_pins == 2
        assert "@" in grid.rendered.text
        assert grid.region.y < table.region.y  # map above the list at 80x24
        assert grid.region.width == 80
        assert "1 without position" in str(screen.query_one("#nearby-status").render())
        names = [str(table.get_row_at(i)[3]) for i in range(8)]
        assert names == [f"Shop {i}" for i in range(8)]

        # Moving through the list highlights that record's pin.
        await pilot.press("j", "j", "j")
        await wait_until(
            pilot,
            lambda: any(s.style == "pin.highlight" for s in grid.rendered.spans),  # type: ignore[union-attr]
            "highlighted pin",
        )
        assert grid.rendered is not None
        col, row = grid.rendered.pin_cells["contact:00000000-0000-4000-8000-000000000003"]
        assert any(
            s.style == "pin.highlight" and s.row == row and s.start == col
            for s in grid.rendered.spans
        )

        # A small move: same order, so only distance cells change and few map rows repaint.
        moved = WGS84.Direct(*CENTRE, 180.0, 20.0)
        before = grid.rendered
        await app.session.nearby.set_manual_position(moved["lat2"], moved["lon2"])
        await wait_until(pilot, lambda: grid.rendered is not before, "map redrawn after the move")
        await wait_until(pilot, lambda: str(table.get_row_at(0)[1]) != "300 m", "distances updated")
        assert 0 < screen.table_updates <= 16  # cells rewritten, not the whole table
        assert len(grid.last_refreshed_rows) < grid.size.height

        # Zoom out: the scale doubles.
        scale = grid.rendered.scale_m
        await pilot.press("minus")
        await wait_until(
            pilot, lambda: grid.rendered is not None and grid.rendered.scale_m > scale, "zoomed out"
        )


async def test_wide_terminal_puts_the_map_beside_the_list(tmp_path: Path) -> None:
    folder = await make_profile(tmp_path)
    app = app_for(tmp_path, folder)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_nearby(pilot)
        assert app.session is not None
        await app.session.nearby.set_manual_position(*CENTRE)
        table = screen.query_one("#nearby-list", DataTable)
        await wait_until(pilot, lambda: table.row_count == 8, "rows")
        grid = screen.query_one("#nearby-map", MapGrid)
        assert grid.region.x < table.region.x and grid.region.y == table.region.y


async def test_route_and_check_in_from_the_screen(tmp_path: Path) -> None:
    folder = await make_profile(tmp_path)
    app = app_for(tmp_path, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nearby(pilot)
        assert app.session is not None
        await app.session.nearby.set_manual_position(*CENTRE)
        table = screen.query_one("#nearby-list", DataTable)
        await wait_until(pilot, lambda: table.row_count == 8, "rows")
        await pilot.press("space", "j", "j", "space")
        assert len(screen.marked) == 2
        await pilot.press("o")
        from tui_crm.ui.screens.nearby_route import RouteModal

        await wait_until(pilot, lambda: isinstance(app.screen, RouteModal), "route")
        lines = str(app.screen.query_one("#route-lines").render())
        assert "1. Shop 0" in lines and "2. Shop 2" in lines and "Total" in lines
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back on nearby")

        await pilot.press("i")
        session = app.session

        async def appointments() -> int:
            return (await session.records.counts()).get("appointment", 0)

        for _ in range(200):
            if await appointments() == 1:
                break
            await pilot.pause(0.02)
        assert await appointments() == 1


async def test_map_off_screen_starts_nothing(tmp_path: Path) -> None:
    folder = await make_profile(tmp_path)
    async with ConnectionCounter() as gpsd:
        settings = Settings(
            profile=folder,
            kdf=LOW_KDF,
            map_enabled=False,
            location=LocationSettings(source="gpsd", gpsd_port=gpsd.port),
        )
        app = CrmApp(settings, config_path=tmp_path / "config.toml")
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_nearby(pilot)
            await pilot.pause(0.3)
            assert "Map is off" in str(screen.query_one("#nearby-status").render())
            assert app.session is not None
            assert app.session.nearby.status().state.value == "off"
            await pilot.press("escape")
        await asyncio.sleep(0.1)
        assert gpsd.connections == 0


MARKUP_NAMES = ["Smith [/x] & Co", "[b]Bold[/b] [/]", "Müller [link=x]GmbH", "Plain"]


def notifications(app: CrmApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_names_with_markup_are_shown_as_text_everywhere(tmp_path: Path) -> None:
    """Record names are data: the list, the check-in note and the opened record never parse them."""
    from tui_crm.ui.screens.record_form import RecordFormScreen

    folder = await make_profile(tmp_path, MARKUP_NAMES)
    app = app_for(tmp_path, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nearby(pilot)
        assert app.session is not None
        await app.session.nearby.set_manual_position(*CENTRE)
        table = screen.query_one("#nearby-list", DataTable)
        await wait_until(pilot, lambda: table.row_count == 4, "rows")
        await pilot.pause(0.1)
        assert [str(table.get_row_at(i)[3]) for i in range(4)] == MARKUP_NAMES
        # Painting the whole screen must not raise (it did: MarkupError on "[/x]").
        assert "Smith" in app.export_screenshot()
        await pilot.press("i")
        await wait_until(
            pilot,
            lambda: any(m.startswith("Checked in at Smith [/x] & Co") for m in notifications(app)),
            "check-in notification with the literal name",
        )
        await pilot.pause(0.1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "record form")
        await pilot.pause(0.2)
        values = [str(w.render()) for w in app.screen.query(".field-value")]
        assert any("Smith [/x] & Co" in v for v in values), values
        assert app.is_running


async def test_map_widget_styles_wide_labels_by_cell(tmp_path: Path) -> None:
    """Spans are in cells: the widget slices a CJK line at the right characters."""
    from textual.app import App

    from tui_crm.services.nearby import MapPin, MapView, render_map, unproject

    class One(App[None]):
        def compose(self) -> Any:
            yield MapGrid(id="grid")

    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        grid = app.query_one(MapGrid)
        at = unproject(*CENTRE, (20 + 0.5 - 20) * 20.0, (5 - 4 - 0.5) * 40.0)
        pins = [MapPin("a", *at, "1", "東京営業所本社", rank=0, highlighted=True)]
        rendered = render_map(MapView(*CENTRE, 20.0, 40, 10, "ascii"), pins)
        grid.show(rendered)
        await pilot.pause()
        strip = grid.render_line(4)
        assert strip.cell_length == 40
        texts = {seg.text for seg in strip}
        assert "東京営業~" in texts and "1" in texts


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def title_of(screen: NearbyScreen) -> str:
    return str(screen.query_one("#nearby-status").render())


async def test_the_age_in_the_title_keeps_counting_after_going_stale(tmp_path: Path) -> None:
    """No status arrives once the source is silent: a 1 s tick on the app clock ages it."""
    from tui_crm.geo.fix import FixMode
    from tui_crm.services.nearby import Fix, LocationState, LocationStatus

    folder = await make_profile(tmp_path)
    clock = FakeClock()
    app = app_for(tmp_path, folder)
    app.clock = clock
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nearby(pilot)
        fix = Fix(*CENTRE, 12.0, FixMode.FIX_3D, received_at=0.0)
        screen._status_changed(LocationStatus(LocationState.STALE, fix, age_s=40.0))
        await wait_until(pilot, lambda: "stale ±12 m, 40 s old" in title_of(screen), "stale")
        clock.now += 60
        await wait_until(pilot, lambda: "stale ±12 m, 100 s old" in title_of(screen), "aged")
        map_before = screen.query_one("#nearby-map", MapGrid).rendered
        clock.now += 5
        await wait_until(pilot, lambda: "105 s old" in title_of(screen), "aged again")
        # the tick repaints the title only, never the map
        assert screen.query_one("#nearby-map", MapGrid).rendered is map_before


async def test_a_kept_position_runs_the_query_until_the_first_fix(tmp_path: Path) -> None:
    import time

    from tui_crm.services.nearby import LAST_KNOWN_KEY

    folder = await make_profile(tmp_path)
    session = await ProfileService(folder, kdf=LOW_KDF).unlock(PASSWORD)
    kept = {"lat": CENTRE[0], "lon": CENTRE[1], "accuracy_m": 8.0, "at": time.time() - 610}
    try:
        await session.settings.set(LAST_KNOWN_KEY, kept)
    finally:
        await session.close()
    clock = FakeClock()
    app = app_for(tmp_path, folder)
    app.clock = clock
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nearby(pilot)  # manual source: no fix will come
        table = screen.query_one("#nearby-list", DataTable)
        await wait_until(pilot, lambda: table.row_count == 8, "rows around the kept position")
        assert screen.status.fix is None
        await wait_until(pilot, lambda: "last known, 10 min ago" in title_of(screen), "age")
        grid = screen.query_one("#nearby-map", MapGrid)
        await wait_until(pilot, lambda: grid.rendered is not None, "map")
        assert grid.rendered is not None and "@" in grid.rendered.text  # stale device marker
        clock.now += 125
        await wait_until(pilot, lambda: "last known, 12 min ago" in title_of(screen), "aged")
        # a real fix replaces the kept position
        assert app.session is not None
        await app.session.nearby.set_manual_position(*CENTRE)
        await wait_until(pilot, lambda: "last known" not in title_of(screen), "fix replaces it")


async def test_nearby_keys_pan_recentre_radius_entity_open_position_and_here(
    tmp_path: Path,
) -> None:
    from tui_crm.ui.screens.record_form import RecordFormScreen

    folder = await make_profile(tmp_path)
    app = app_for(tmp_path, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nearby(pilot)
        assert app.session is not None
        await app.session.nearby.set_manual_position(*CENTRE)
        table = screen.query_one("#nearby-list", DataTable)
        grid = screen.query_one("#nearby-map", MapGrid)
        await wait_until(pilot, lambda: table.row_count == 8 and grid.rendered is not None, "rows")

        # shift+right pans east: the view leaves the device, pins move left on the map
        before = grid.rendered
        assert before is not None and screen.view_centre == screen.centre
        await pilot.press("shift+right")
        await wait_until(pilot, lambda: grid.rendered is not before, "panned")
        assert screen.view_centre is not None and screen.following is False
        east, north = project(*CENTRE, *screen.view_centre)
        assert east > 0 and abs(north) < 1.0
        # c recentres on the device and follows it again
        await pilot.press("c")
        await wait_until(pilot, lambda: screen.view_centre == screen.centre, "recentred")
        assert screen.following is True

        # r steps the radius up
        assert screen.radius_m == 5_000.0
        await pilot.press("r")
        await wait_until(pilot, lambda: "within 10 km" in title_of(screen), "radius 10 km")

        # e cycles the entity filter: every entity, then each one
        order = [None, *screen.entities]
        assert "contact" in order
        while screen.entity != "contact":
            await pilot.press("e")
        await wait_until(pilot, lambda: table.row_count == 2, "contacts only")
        assert {h.entity for h in screen.hits} == {"contact"}
        assert "· contact ·" in title_of(screen)
        while screen.entity is not None:
            await pilot.press("e")
        await wait_until(pilot, lambda: table.row_count == 8, "every entity again")

        # enter opens the highlighted record
        await pilot.press("j", "j")
        await wait_until(
            pilot, lambda: screen.highlight is not None and "2" in screen.highlight, "row"
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "record form")
        assert "Shop 2" in str(app.screen.query_one("#title").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back")

        # p: type a position
        await pilot.press("p")
        position = screen.query_one("#nearby-position")
        assert position.display and position.has_focus
        await pilot.press(*"48.2, 11.6", "enter")
        await wait_until(pilot, lambda: screen.centre == (48.2, 11.6), "typed position used")
        assert not position.display
        assert app.session.nearby.status().fix is not None

        # h: the highlighted record becomes "here"
        await app.session.nearby.set_manual_position(*CENTRE)
        await wait_until(pilot, lambda: screen.hits[0].name == "Shop 0", "back at the centre")
        table.move_cursor(row=2)
        await wait_until(
            pilot, lambda: screen.highlight is not None and "2" in screen.highlight, "row"
        )
        shop2 = screen.hits[2]
        await pilot.press("h")
        await wait_until(
            pilot,
            lambda: bool(screen.hits) and screen.hits[0].id == shop2.id,
            "the record is here",
        )
        assert screen.hits[0].distance_m < 0.5
        assert screen.centre == pytest.approx((shop2.latitude, shop2.longitude))


async def test_check_in_records_the_numeric_accuracy(tmp_path: Path) -> None:
    """An NMEA fix (HDOP 0.9) gives an accuracy: the activity says ±N m and the distance."""
    from tui_crm.geo.nmea import UERE_M, sentence

    folder = await make_profile(tmp_path)
    log = tmp_path / "here.nmea"
    log.write_text(
        sentence("GPGGA,120000,4808.2380,N,01134.5300,E,1,08,0.9,545.4,M,46.9,M,,") + "\n",
        encoding="ascii",
    )
    settings = Settings(
        profile=folder,
        kdf=LOW_KDF,
        location=LocationSettings(source="nmea", nmea_device=str(log), stale_after_seconds=600),
        map_mode="ascii",
    )
    app = CrmApp(settings, config_path=tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_nearby(pilot)
        table = screen.query_one("#nearby-list", DataTable)
        await wait_until(pilot, lambda: table.row_count == 8, "rows from the NMEA fix")
        assert screen.status.fix is not None, screen.status
        assert screen.status.fix.accuracy_m is not None
        await pilot.press("i")
        session = app.session
        assert session is not None
        expected = f"±{0.9 * UERE_M:.0f} m"

        async def activity() -> Any:
            found = [
                r
                for r in (await session.records.list("appointment")).records
                if "Shop 0" in str(r.fields.get("subject"))
            ]
            return found[0] if found else None

        record = None
        for _ in range(200):
            record = await activity()
            if record is not None:
                break
            await pilot.pause(0.02)
        assert record is not None
        description = str(record.fields["description"])
        assert expected in description, description
        assert "m from the record" in description
        assert any("Checked in at Shop 0" in m and "away" in m for m in notifications(app))


async def open_first_account(pilot: Any) -> Any:
    from tui_crm.ui.screens.record_form import RecordFormScreen

    await unlock(pilot)
    await open_list(pilot, pilot.app)
    table = pilot.app.screen.query_one(DataTable)
    await wait_until(pilot, lambda: table.row_count > 0, "the account list")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, RecordFormScreen), "the form")
    return pilot.app.screen


async def test_check_in_from_the_record_form(tmp_path: Path) -> None:
    """`i` on a record: an appointment regarding it, stamped with the fixed position."""
    folder = await make_profile(tmp_path)
    app = app_for(tmp_path, folder)
    app.settings = app.settings.model_copy(
        update={
            "location": LocationSettings(
                source="fixed", fixed_latitude=CENTRE[0], fixed_longitude=CENTRE[1]
            )
        }
    )
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_first_account(pilot)
        assert form.check_action("check_in", ()) is True
        assert app.session is not None
        record = form.record
        await pilot.press("i")

        async def appointments() -> list[Any]:
            assert app.session is not None
            page = await app.session.records.list("appointment", limit=10)
            return list(page.records)

        for _ in range(200):
            if await appointments():
                break
            await pilot.pause(0.05)
        made = await appointments()
        assert len(made) == 1
        assert made[0].fields["regardingobjectid"] == {"entity": "account", "id": record.id}
        assert "from the record" in str(made[0].fields["description"])
        assert app.session.nearby.status().detail == "location source not started"


async def test_no_check_in_on_the_form_with_map_off(tmp_path: Path) -> None:
    folder = await make_profile(tmp_path)
    app = app_for(tmp_path, folder, map_enabled=False)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_first_account(pilot)
        assert not form.check_action("check_in", ())
        await pilot.press("i")
        await pilot.pause(0.2)
        assert app.session is not None
        assert not (await app.session.records.list("appointment", limit=1)).records
