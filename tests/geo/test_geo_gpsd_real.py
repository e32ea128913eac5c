"""The gpsd source against the real gpsd, fed by gpsfake replaying an NMEA log we write.

If gpsd/gpsfake are not installed (.ci/run installs Debian's gpsd, gpsd-clients
and python3-gps), these tests are skipped and say why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tui_crm.geo.fix import LocationState, LocationStatus
from tui_crm.geo.nmea import sentence
from tui_crm.geo.sources import GpsdSource

SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
GPSFAKE = shutil.which("gpsfake", path=SBIN_PATH)
GPSD = shutil.which("gpsd", path=SBIN_PATH)
needs_gpsd = pytest.mark.skipif(
    GPSFAKE is None or GPSD is None,
    reason="gpsd/gpsfake not installed (apt-get install gpsd gpsd-clients python3-gps)",
)

FIX_EPOCHS = 12
NO_FIX_EPOCHS = 6


def log_positions() -> list[tuple[float, float]]:
    """A walk north-east from Munich, one position per epoch (exact in NMEA minutes)."""
    return [(48 + (7.0 + 0.01 * i) / 60, 11 + (31.0 + 0.02 * i) / 60) for i in range(FIX_EPOCHS)]


LEAD_IN = 40
"""Satellite-view sentences first: gpsd spends the first few sentences detecting the
NMEA driver, and no position we check should be lost to that."""


def write_log(path: Path) -> None:
    lines = [
        sentence("GPGSV,1,1,04,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00")
        for _ in range(LEAD_IN)
    ]
    for i, _ in enumerate(log_positions()):
        lat_min, lon_min = 7.0 + 0.01 * i, 31.0 + 0.02 * i
        stamp = f"1235{10 + i:02d}"
        lat, lon = f"48{lat_min:07.4f}", f"011{lon_min:07.4f}"
        lines.append(sentence(f"GPRMC,{stamp},A,{lat},N,{lon},E,000.5,054.7,191194,020.3,E"))
        lines.append(sentence(f"GPGGA,{stamp},{lat},N,{lon},E,1,08,1.2,545.4,M,46.9,M,,"))
    for j in range(NO_FIX_EPOCHS):
        stamp = f"1235{10 + FIX_EPOCHS + j:02d}"
        lines.append(sentence(f"GPRMC,{stamp},V,,,,,,,191194,,"))
        lines.append(sentence(f"GPGGA,{stamp},,,,,0,00,99.9,,M,,M,,"))
    path.write_text("".join(lines), encoding="ascii")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def gpsfake(tmp_path: Path) -> Iterator[int]:
    """gpsfake on a free port, replaying the log once, 50 ms between sentences."""
    assert GPSFAKE is not None
    log = tmp_path / "walk.nmea"
    write_log(log)
    port = free_port()
    process = subprocess.Popen(
        [GPSFAKE, "-1", "-q", "-c", "0.05", "-P", str(port), str(log)],
        env={**os.environ, "PATH": SBIN_PATH},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        if process.stderr is not None:
            process.stderr.close()


class StatusLog:
    """Every status the source publishes, with a way to wait for a condition."""

    def __init__(self) -> None:
        self.seen: list[LocationStatus] = []
        self._changed = asyncio.Event()

    def __call__(self, status: LocationStatus) -> None:
        self.seen.append(status)
        self._changed.set()

    def first(self, state: LocationState) -> int:
        return next(i for i, s in enumerate(self.seen) if s.state == state)

    async def wait_for(
        self, state: LocationState, *, after: int = -1, timeout: float = 60.0
    ) -> LocationStatus:
        """The first status in `state` published after index `after`."""

        async def scan() -> LocationStatus:
            while True:
                for status in self.seen[after + 1 :]:
                    if status.state == state:
                        return status
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(scan(), timeout)


@pytest.fixture
async def watched(gpsfake: int) -> AsyncIterator[tuple[GpsdSource, StatusLog]]:
    source = GpsdSource("127.0.0.1", gpsfake, stale_after_s=1.0, retry_initial_s=0.05)
    log = StatusLog()
    source.subscribe(log)
    await source.start()
    try:
        yield source, log
    finally:
        await source.stop()


@needs_gpsd
async def test_positions_no_fix_and_staleness_from_a_replayed_log(
    watched: tuple[GpsdSource, StatusLog],
) -> None:
    source, log = watched
    expected = log_positions()

    await log.wait_for(LocationState.FIX)
    no_fix = await log.wait_for(LocationState.NO_FIX, after=log.first(LocationState.FIX))
    fixes = [s.fix for s in log.seen if s.state == LocationState.FIX and s.fix is not None]
    read = list(dict.fromkeys((round(f.lat, 9), round(f.lon, 9)) for f in fixes))
    wanted = [(round(lat, 9), round(lon, 9)) for lat, lon in expected]
    assert len(read) >= FIX_EPOCHS // 3, read
    assert all(position in wanted for position in read), (read, wanted)
    assert [wanted.index(p) for p in read] == sorted(wanted.index(p) for p in read)
    assert read[-1] == wanted[-1]
    assert all(f.mode >= 2 for f in fixes)
    assert any(f.accuracy_m is not None for f in fixes)  # eph, once GGA's HDOP has arrived

    # No fix: the last known position is still there, with its age.
    assert no_fix.fix is not None
    assert (round(no_fix.fix.lat, 9), round(no_fix.fix.lon, 9)) == wanted[-1]
    assert no_fix.age_s is not None and no_fix.age_s >= 0

    # The log ends, gpsd falls silent: the watchdog announces stale, position kept.
    stale = await log.wait_for(LocationState.STALE, after=log.first(LocationState.FIX))
    assert stale.fix is not None and stale.age_s is not None and stale.age_s > 1.0
    assert source.status().state == LocationState.STALE
    assert source.connections_made == 1


@needs_gpsd
async def test_gpsd_without_a_receiver_is_waiting_not_a_fix(tmp_path: Path) -> None:
    assert GPSD is not None
    port = free_port()
    process = subprocess.Popen(
        [GPSD, "-N", "-S", str(port), "-F", str(tmp_path / "gpsd.sock")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    source = GpsdSource("127.0.0.1", port, stale_after_s=5.0, retry_initial_s=0.05)
    log = StatusLog()
    source.subscribe(log)
    try:
        await source.start()
        for _ in range(200):
            if source.connections_made and "no receiver" in source.status().detail:
                break
            await asyncio.sleep(0.05)
        status = source.status()
        assert status.state == LocationState.WAITING, status
        assert status.fix is None
        assert "no receiver" in status.detail
    finally:
        await source.stop()
        process.terminate()
        process.wait(5)
    assert source.status().state == LocationState.OFF
