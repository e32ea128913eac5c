"""`tui-crm nearby` and `tui-crm map` as a user runs them: a subprocess on a real profile."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from geo_fixtures import LOW_KDF, ConnectionCounter, put_places
from geographiclib.geodesic import Geodesic

from tui_crm.services.profile import ProfileService

PASSWORD = "correct horse battery"
WGS84 = Geodesic.WGS84
CENTRE = (48.1173, 11.5167)


def places() -> list[tuple[str, str, str, float, float]]:
    rows = []
    for i in range(12):
        d = WGS84.Direct(*CENTRE, 30.0 * i, 400.0 * (i + 1))
        rows.append(
            ("account" if i % 2 else "contact", f"p{i:02d}", f"Place {i}", d["lat2"], d["lon2"])
        )
    rows.append(("account", "far", "Far away", 52.52, 13.405))
    return rows


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    folder = tmp_path / "profile"

    async def build() -> None:
        session = await ProfileService(folder, kdf=LOW_KDF).create(PASSWORD)
        try:
            await put_places(session, places())
        finally:
            await session.close()

    asyncio.run(build())
    return folder


def run(
    profile: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "tui-crm"
    return subprocess.run(
        [str(executable), "--profile", str(profile), "--password-stdin", *args],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "TUI_CRM_CONFIG": str(profile.parent / "config.toml"),
            "COLUMNS": "100",
            **(env or {}),
        },
    )


def brute(radius: float) -> list[tuple[str, str]]:
    hits = []
    for entity, ident, _, lat, lon in places():
        s12 = WGS84.Inverse(*CENTRE, lat, lon)["s12"]
        if s12 <= radius:
            hits.append((s12, entity, ident))
    return [(e, i) for _, e, i in sorted(hits)]


def test_nearby_json_is_the_documented_shape_nearest_first(profile: Path) -> None:
    result = run(
        profile,
        "nearby",
        "--lat",
        str(CENTRE[0]),
        "--lon",
        str(CENTRE[1]),
        "--radius",
        "2.5km",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["entity"], r["id"]) for r in rows] == brute(2500)
    assert len(rows) == 6
    assert set(rows[0]) == {
        "entity",
        "id",
        "name",
        "latitude",
        "longitude",
        "distance_m",
        "bearing_deg",
    }
    assert rows[0]["distance_m"] == pytest.approx(400.0, abs=0.01)
    assert rows[1]["bearing_deg"] == pytest.approx(30.0, abs=0.01)


@pytest.mark.parametrize(("radius", "metres"), [("1200m", 1200), ("3mi", 4828.032), ("2km", 2000)])
def test_radius_units(profile: Path, radius: str, metres: float) -> None:
    result = run(
        profile,
        "nearby",
        "--lat",
        str(CENTRE[0]),
        "--lon",
        str(CENTRE[1]),
        "--radius",
        radius,
        "--json",
        "--entity",
        "account",
    )
    assert result.returncode == 0, result.stderr
    assert [(r["entity"], r["id"]) for r in json.loads(result.stdout)] == [
        hit for hit in brute(metres) if hit[0] == "account"
    ]


def test_nearby_text_uses_the_configured_fixed_position(profile: Path) -> None:
    env = {
        "TUI_CRM_LOCATION__SOURCE": "fixed",
        "TUI_CRM_LOCATION__FIXED_LATITUDE": str(CENTRE[0]),
        "TUI_CRM_LOCATION__FIXED_LONGITUDE": str(CENTRE[1]),
    }
    result = run(profile, "nearby", "--radius", "1km", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DISTANCE", "BEARING", "ENTITY", "NAME"]
    assert "400 m" in lines[1] and "Place 0" in lines[1] and "N" in lines[1]
    assert "Place 1" in lines[2] and "800 m" in lines[2]
    assert len(lines) == 3
    assert "2 within 1 km" in result.stderr


def test_map_off_is_one_line_exit_1_and_no_gpsd_connection(profile: Path) -> None:
    async def scenario() -> tuple[int, list[subprocess.CompletedProcess[str]]]:
        async with ConnectionCounter() as gpsd:
            env = {
                "TUI_CRM_MAP_ENABLED": "false",
                "TUI_CRM_LOCATION__SOURCE": "gpsd",
                "TUI_CRM_LOCATION__GPSD_PORT": str(gpsd.port),
            }
            results = [
                await asyncio.to_thread(run, profile, *args, env=env)
                for args in (("nearby",), ("nearby", "--json"), ("map",))
            ]
            await asyncio.sleep(0.1)
            off_connections = gpsd.connections
            # Positive control: with Map on, the same command does connect.
            env["TUI_CRM_MAP_ENABLED"] = "true"
            results.append(
                await asyncio.to_thread(run, profile, "nearby", "--wait", "0.5", env=env)
            )
            return off_connections + 1000 * gpsd.connections, results

    connections, results = asyncio.run(scenario())
    for result in results[:3]:
        assert result.returncode == 1
        assert result.stdout == ""
        assert (
            result.stderr.strip()
            == "tui-crm: Map is off: turn it on in Setup (map_enabled) to use location and nearby"
        )
    assert connections % 1000 == 0, "a connection reached gpsd while Map was off"
    assert connections >= 1000, "the positive control never connected"
    assert results[3].returncode == 1 and "Traceback" not in results[3].stderr


def test_no_position_from_gpsd_is_one_line(profile: Path) -> None:
    result = run(
        profile,
        "nearby",
        "--wait",
        "0.3",
        env={"TUI_CRM_LOCATION__SOURCE": "gpsd", "TUI_CRM_LOCATION__GPSD_PORT": "9"},
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("tui-crm: no position from the location source")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("nearby", "--lat", "48"),
        ("nearby", "--lat", "91", "--lon", "0"),
        ("nearby", "--lat", "0", "--lon", "0", "--radius", "5parsecs"),
        ("map", "--lat", "0", "--lon", "0", "--mode", "sixel"),
        ("nearby", "--lat", "0", "--lon", "0", "--limit", "0"),
    ],
)
def test_usage_errors_exit_2(profile: Path, args: tuple[str, ...]) -> None:
    result = run(profile, *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["braille", "blocks", "ascii"])
def test_map_prints_the_requested_grid(profile: Path, mode: str) -> None:
    result = run(
        profile,
        "map",
        "--lat",
        str(CENTRE[0]),
        "--lon",
        str(CENTRE[1]),
        "--radius",
        "3km",
        "--width",
        "72",
        "--height",
        "20",
        "--mode",
        mode,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")[:-1]
    assert len(lines) == 20 and all(len(line) == 72 for line in lines)
    text = result.stdout
    for marker in "1234567":
        assert marker in text
    assert "Place 0" in text
    assert "N" in lines[0][-1]
    assert "km" in lines[-1] or " m" in lines[-1]
    if mode == "ascii":
        assert text.isascii()
    if mode == "braille":
        assert any(0x2800 <= ord(ch) <= 0x28FF for ch in text)
    assert "labels dropped" in result.stderr


def test_wrong_password_is_exit_3(profile: Path) -> None:
    executable = Path(sys.executable).parent / "tui-crm"
    result = subprocess.run(
        [
            str(executable),
            "--profile",
            str(profile),
            "--password-stdin",
            "nearby",
            "--lat",
            "0",
            "--lon",
            "0",
        ],
        input="wrong password\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TUI_CRM_CONFIG": str(profile.parent / "config.toml")},
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stderr


def test_any_command_run_with_map_off_erases_a_kept_position(profile: Path) -> None:
    from tui_crm.services.nearby import LAST_KNOWN_KEY

    async def kept() -> object:
        session = await ProfileService(profile, kdf=LOW_KDF).unlock(PASSWORD)
        try:
            return await session.settings.get(LAST_KNOWN_KEY)
        finally:
            await session.close()

    async def keep() -> None:
        session = await ProfileService(profile, kdf=LOW_KDF).unlock(PASSWORD)
        try:
            await session.settings.set(LAST_KNOWN_KEY, {"lat": 48.1, "lon": 11.5, "at": 1.0})
        finally:
            await session.close()

    asyncio.run(keep())
    assert asyncio.run(kept()) is not None
    with_map = run(profile, "records", "list", "account", env={"TUI_CRM_MAP_ENABLED": "true"})
    assert with_map.returncode == 0, with_map.stderr
    assert asyncio.run(kept()) is not None, "Map on: the position is kept"
    without = run(profile, "records", "list", "account", env={"TUI_CRM_MAP_ENABLED": "false"})
    assert without.returncode == 0, without.stderr
    assert asyncio.run(kept()) is None, "Map off: no position stays stored"
