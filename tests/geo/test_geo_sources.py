"""Location sources: NMEA from a pty and a file, gpsd protocol failures, staleness by arrival."""

from __future__ import annotations

import asyncio
import json
import os
import pty
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tui_crm.geo.fix import Fix, FixMode, LocationState, assess
from tui_crm.geo.gpsd import TpvMerger
from tui_crm.geo.nmea import sentence
from tui_crm.geo.sources import FixedSource, GpsdSource, ManualSource, NmeaSource

GGA_MUNICH = sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
GGA_NO_FIX = sentence("GPGGA,123520,,,,,0,00,99.9,,M,,M,,")
RMC_BERLIN = sentence("GNRMC,123521,A,5231.200,N,01324.300,E,0.0,0.0,191194,,,A")


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


# --- staleness ----------------------------------------------------------------------------


def test_staleness_is_judged_by_arrival_time() -> None:
    fix = Fix(48.0, 11.0, 5.0, FixMode.FIX_3D, received_at=100.0)
    fresh = assess(
        last_fix=fix, last_report_had_fix=True, last_report_at=100.0, now=104.0, stale_after_s=5
    )
    stale = assess(
        last_fix=fix, last_report_had_fix=True, last_report_at=100.0, now=105.5, stale_after_s=5
    )
    assert fresh.state == LocationState.FIX
    assert stale.state == LocationState.STALE and stale.fix == fix and stale.age_s == 5.5
    # Reports keep coming but without a fix: the last position is shown, marked no-fix.
    searching = assess(
        last_fix=fix, last_report_had_fix=False, last_report_at=109.0, now=109.5, stale_after_s=5
    )
    assert searching.state == LocationState.NO_FIX and searching.fix == fix
    assert (
        assess(
            last_fix=None, last_report_had_fix=None, last_report_at=None, now=0, stale_after_s=5
        ).state
        == LocationState.WAITING
    )


def test_tpv_partial_reports_of_one_epoch_are_merged() -> None:
    merger = TpvMerger()
    first = merger.add(
        {"class": "TPV", "device": "/dev/x", "time": "T1", "mode": 2, "lat": 1.0, "lon": 2.0}, 5.0
    )
    assert first.fix is not None and first.fix.accuracy_m is None
    second = merger.add(
        {"class": "TPV", "device": "/dev/x", "time": "T1", "mode": 3, "eph": 7.5}, 5.1
    )
    assert second.fix is not None and (second.fix.lat, second.fix.accuracy_m, second.fix.mode) == (
        1.0,
        7.5,
        3,
    )
    next_epoch = merger.add({"class": "TPV", "device": "/dev/x", "time": "T2", "mode": 3}, 6.0)
    assert next_epoch.fix is None  # a new epoch without lat/lon is not a fix
    no_fix = merger.add(
        {"class": "TPV", "device": "/dev/x", "mode": 1, "lat": 1.0, "lon": 2.0}, 7.0
    )
    assert no_fix.fix is None and no_fix.mode == FixMode.NO_FIX


# --- NMEA from a serial device (a pty) and from a file --------------------------------------


async def test_nmea_device_reads_fixes_and_ignores_bad_lines(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    source = NmeaSource(os.ttyname(slave), stale_after_s=60)
    try:
        await source.start()
        os.write(master, (GGA_MUNICH[:-2] + "\r\n").encode())
        await until(lambda: source.status().fix is not None)
        fix = source.status().fix
        assert fix is not None and (round(fix.lat, 4), round(fix.lon, 6)) == (48.1173, 11.516667)
        assert fix.accuracy_m == pytest.approx(4.5) and fix.mode == FixMode.FIX_3D

        bad_checksum = GGA_MUNICH.replace("*47", "*48")
        os.write(master, (bad_checksum + "\x00\xffgarbage\r\n$GPGGA,1235").encode("latin-1"))
        os.write(master, b"19,48\r\n")  # completes the truncated line: still no checksum
        await until(lambda: source.rejected_lines >= 3)
        assert source.status().state == LocationState.FIX
        assert source.status().fix == fix

        os.write(master, GGA_NO_FIX.encode())
        await until(lambda: source.status().state == LocationState.NO_FIX)
        assert source.status().fix == fix  # last known position kept

        os.write(master, RMC_BERLIN.encode())
        await until(lambda: source.status().state == LocationState.FIX)
        moved = source.status().fix
        assert moved is not None and round(moved.lat, 3) == 52.52

        os.close(master)
        master = -1
        await until(lambda: source.status().state == LocationState.ERROR)
        assert "closed" in source.status().detail
    finally:
        await source.stop()
        if master >= 0:
            os.close(master)
        os.close(slave)
    assert source.status().state == LocationState.OFF


async def test_nmea_log_file_replays_then_goes_stale(tmp_path: Path) -> None:
    log = tmp_path / "track.nmea"
    log.write_text(GGA_MUNICH + "junk\r\n" + GGA_NO_FIX + RMC_BERLIN, encoding="ascii")
    clock = FakeClock()
    source = NmeaSource(str(log), stale_after_s=10, clock=clock)
    await source.start()
    await until(lambda: "end of NMEA log" in source.status().detail)
    status = source.status()
    assert status.state == LocationState.FIX and status.fix is not None
    assert round(status.fix.lat, 2) == 52.52
    assert source.rejected_lines == 1
    clock.now += 11
    assert source.status().state == LocationState.STALE
    await source.stop()


async def test_missing_nmea_device_is_an_error_not_a_crash(tmp_path: Path) -> None:
    source = NmeaSource(str(tmp_path / "ttyNOPE"), stale_after_s=5)
    await source.start()
    assert source.status().state == LocationState.ERROR
    assert "cannot open" in source.status().detail
    await source.stop()


# --- gpsd protocol edge cases against a scripted loopback peer -------------------------------

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(script: Script) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(script, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def line(obj: dict[str, object]) -> bytes:
    return json.dumps(obj).encode() + b"\n"


VERSION = {"class": "VERSION", "release": "3.22", "proto_major": 3, "proto_minor": 14}


async def test_gpsd_malformed_lines_are_skipped_and_drops_reconnect() -> None:
    connections: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(line(VERSION))
        connections.append(await reader.readline())
        if len(connections) == 1:
            writer.write(
                b"{not json\n" + b"[1,2]\n" + b'{"class":"TPV","mode":2,"lat":"x","lon":1}\n'
            )
            writer.write(line({"class": "TPV", "mode": 3, "lat": 10.0, "lon": 20.0, "eph": 3.0}))
            await writer.drain()
            writer.close()  # drop the client mid-stream
            return
        writer.write(line({"class": "SKY", "nSat": 9, "uSat": 4}))
        writer.write(line({"class": "TPV", "mode": 3, "lat": 11.0, "lon": 21.0}))
        await writer.drain()
        await asyncio.sleep(5)

    server, port = await serve(script)
    source = GpsdSource("127.0.0.1", port, stale_after_s=30, retry_initial_s=0.05)
    try:
        await source.start()
        await until(lambda: source.status().fix is not None and source.status().fix.lat == 11.0)  # type: ignore[union-attr]
        assert source.connections_made == 2
        assert connections[0].startswith(b"?WATCH=") and b'"enable":true' in connections[0]
        assert source.status().state == LocationState.FIX
        assert source.status().detail == "4/9 satellites"
    finally:
        await source.stop()
        server.close()
        await server.wait_closed()


async def test_a_peer_that_is_not_gpsd_is_refused_and_retried() -> None:
    attempts = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        writer.close()

    server, port = await serve(script)
    source = GpsdSource("127.0.0.1", port, stale_after_s=30, retry_initial_s=0.02, retry_max_s=0.05)
    try:
        await source.start()
        await until(lambda: attempts >= 3)
        status = source.status()
        assert status.state == LocationState.ERROR and status.fix is None
        assert source.connections_made == 0
    finally:
        await source.stop()
        server.close()
        await server.wait_closed()


async def test_gpsd_not_running_is_an_error_state() -> None:
    server, port = await serve(lambda r, w: asyncio.sleep(0))
    server.close()
    await server.wait_closed()
    source = GpsdSource("127.0.0.1", port, stale_after_s=30, retry_initial_s=5)
    await source.start()
    await until(lambda: source.status().state == LocationState.ERROR)
    assert "not reachable" in source.status().detail
    await source.stop()


async def test_gpsd_silence_turns_stale_by_local_clock_even_with_a_fresh_report_time() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(line(VERSION))
        await reader.readline()
        writer.write(
            line(
                {"class": "TPV", "mode": 3, "time": "2099-01-01T00:00:00Z", "lat": 1.0, "lon": 2.0}
            )
        )
        await writer.drain()
        await asyncio.sleep(5)

    server, port = await serve(script)
    clock = FakeClock()
    source = GpsdSource("127.0.0.1", port, stale_after_s=10, clock=clock)
    try:
        await source.start()
        await until(lambda: source.status().state == LocationState.FIX)
        clock.now += 10.5
        status = source.status()
        assert status.state == LocationState.STALE and status.age_s == pytest.approx(10.5)
    finally:
        await source.stop()
        server.close()
        await server.wait_closed()


async def test_fixed_and_manual_sources() -> None:
    fixed = FixedSource(1.5, 2.5)
    assert fixed.status().state == LocationState.OFF
    await fixed.start()
    assert fixed.status().state == LocationState.FIX
    await fixed.stop()
    manual = ManualSource()
    seen: list[LocationState] = []
    manual.subscribe(lambda s: seen.append(s.state))
    await manual.start()
    assert manual.status().state == LocationState.WAITING
    manual.set_position(3.0, 4.0)
    assert manual.status().fix is not None and manual.status().state == LocationState.FIX
    await manual.stop()
    assert seen == [LocationState.WAITING, LocationState.FIX, LocationState.OFF]
