"""Where the device's position comes from: fixed, manual, gpsd, or an NMEA device/file.

Every source has the same small life cycle (start, status, subscribe, stop)
so the service can start exactly one while the Map feature is on and stop it
when Map is turned off; nothing here opens a socket or a device before
`start()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import termios
import time
import tty
from collections.abc import Callable
from typing import Protocol

from tui_crm.geo.fix import Fix, FixMode, LocationState, LocationStatus, assess
from tui_crm.geo.gpsd import (
    DevicesReport,
    GpsdConnection,
    GpsdProtocolError,
    SkyReport,
    TpvReport,
)
from tui_crm.geo.nmea import NmeaReport, parse_sentence

Clock = Callable[[], float]
Listener = Callable[[LocationStatus], None]
Unsubscribe = Callable[[], None]


class LocationSource(Protocol):
    """A started source keeps its last fix; `status()` judges freshness on demand."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def status(self) -> LocationStatus: ...

    def subscribe(self, listener: Listener) -> Unsubscribe: ...


class _TrackedSource:
    """Shared bookkeeping: last fix, last report, listeners and the stale watchdog."""

    name = "source"

    def __init__(self, *, stale_after_s: float | None, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._listeners: list[Listener] = []
        self._last_fix: Fix | None = None
        self._last_report_at: float | None = None
        self._last_report_had_fix: bool | None = None
        self._detail = ""
        self._error: str | None = None
        self._running = False
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._running

    def status(self) -> LocationStatus:
        if not self._running:
            return LocationStatus(LocationState.OFF)
        now = self._clock()
        if self._error is not None:
            age = None if self._last_fix is None else now - self._last_fix.received_at
            return LocationStatus(LocationState.ERROR, self._last_fix, age, self._error)
        return assess(
            last_fix=self._last_fix,
            last_report_had_fix=self._last_report_had_fix,
            last_report_at=self._last_report_at,
            now=now,
            stale_after_s=self._stale_after_s,
            detail=self._detail,
        )

    def subscribe(self, listener: Listener) -> Unsubscribe:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _publish(self) -> None:
        current = self.status()
        for listener in list(self._listeners):
            listener(current)

    def _record(self, fix: Fix | None, *, had_fix: bool, at: float) -> None:
        """A report arrived: remember it, tell listeners, re-arm the stale watchdog."""
        self._error = None
        self._last_report_at = at
        self._last_report_had_fix = had_fix
        if fix is not None:
            self._last_fix = fix
        self._publish()
        self._arm_watchdog()

    def _fail(self, message: str) -> None:
        self._error = message
        self._publish()

    def _arm_watchdog(self) -> None:
        """Silence produces no report, so a timer announces the stale transition."""
        if self._stale_after_s is None:
            return
        if self._watchdog is not None:
            self._watchdog.cancel()
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            self._watchdog = loop.call_later(self._stale_after_s + 0.05, self._publish)

    def _halt(self) -> None:
        self._running = False
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._publish()


class FixedSource(_TrackedSource):
    """A position from the config: always current, never stale."""

    name = "fixed"

    def __init__(self, lat: float, lon: float, *, clock: Clock = time.monotonic) -> None:
        super().__init__(stale_after_s=None, clock=clock)
        self._lat, self._lon = lat, lon

    async def start(self) -> None:
        self._running = True
        now = self._clock()
        self._record(Fix(self._lat, self._lon, None, FixMode.FIX_2D, now), had_fix=True, at=now)

    async def stop(self) -> None:
        self._halt()


class ManualSource(_TrackedSource):
    """The user types a position or picks a record as "here"; never stale, but aged."""

    name = "manual"

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        super().__init__(stale_after_s=None, clock=clock)
        self._detail = "no position yet: type one or pick a record as here"

    async def start(self) -> None:
        self._running = True
        self._publish()

    async def stop(self) -> None:
        self._halt()

    def set_position(self, lat: float, lon: float, accuracy_m: float | None = None) -> None:
        now = self._clock()
        self._detail = "manual position"
        self._record(Fix(lat, lon, accuracy_m, FixMode.FIX_2D, now), had_fix=True, at=now)


class GpsdSource(_TrackedSource):
    """Watches gpsd, reconnecting with backoff; the receiver's own clock is never trusted."""

    name = "gpsd"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        stale_after_s: float,
        clock: Clock = time.monotonic,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
    ) -> None:
        super().__init__(stale_after_s=stale_after_s, clock=clock)
        self.host, self.port = host, port
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._task: asyncio.Task[None] | None = None
        self.connections_made = 0

    async def start(self) -> None:
        if self._task is not None:
            return
        self._running = True
        self._detail = f"connecting to gpsd at {self.host}:{self.port}"
        self._task = asyncio.create_task(self._run(), name="gpsd-source")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._halt()

    async def _run(self) -> None:
        delay = self._retry_initial_s
        while True:
            try:
                connection = await GpsdConnection.open(self.host, self.port, clock=self._clock)
            except (OSError, TimeoutError, GpsdProtocolError):
                self._fail(f"gpsd not reachable at {self.host}:{self.port}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            self.connections_made += 1
            delay = self._retry_initial_s
            try:
                await self._consume(connection)
                self._fail("gpsd closed the connection")
            except (OSError, GpsdProtocolError):
                self._fail("lost the connection to gpsd")
            finally:
                await connection.close()
            await asyncio.sleep(delay)

    async def _consume(self, connection: GpsdConnection) -> None:
        self._error = None
        self._detail = "waiting for gpsd"
        self._publish()
        async for report in connection.reports():
            if isinstance(report, TpvReport):
                if report.fix is None:
                    self._detail = "searching for satellites"
                self._record(report.fix, had_fix=report.fix is not None, at=self._clock())
            elif isinstance(report, SkyReport):
                if report.satellites_seen is not None:
                    used = report.satellites_used or 0
                    self._detail = f"{used}/{report.satellites_seen} satellites"
            elif isinstance(report, DevicesReport) and not report.paths:
                self._detail = "gpsd has no receiver"
                self._publish()


class NmeaTracker:
    """Turns a stream of GGA/RMC reports into fixes; RMC borrows the last GGA's accuracy."""

    def __init__(self) -> None:
        self._accuracy_m: float | None = None
        self._three_d = False

    def fix_from(self, report: NmeaReport, received_at: float) -> Fix | None:
        if not report.has_fix or report.lat is None or report.lon is None:
            if report.kind == "GGA":
                # The receiver lost its fix: the old accuracy says nothing about the next RMC.
                self._accuracy_m = None
                self._three_d = False
            return None
        if report.kind == "GGA":
            self._accuracy_m = report.accuracy_m
            self._three_d = report.three_d
        mode = FixMode.FIX_3D if self._three_d else FixMode.FIX_2D
        return Fix(report.lat, report.lon, self._accuracy_m, mode, received_at, report.degraded)


class NmeaSource(_TrackedSource):
    """Reads NMEA from a serial device/pty (non-blocking) or replays a log file.

    A log file is read once from start to end, optionally paced, so a recorded
    track can stand in for a receiver; after its end the position goes stale.
    """

    name = "nmea"

    def __init__(
        self,
        path: str,
        *,
        stale_after_s: float,
        clock: Clock = time.monotonic,
        replay_interval_s: float = 0.0,
    ) -> None:
        super().__init__(stale_after_s=stale_after_s, clock=clock)
        self.path = path
        self._replay_interval_s = replay_interval_s
        self._tracker = NmeaTracker()
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._buffer = b""
        self.rejected_lines = 0

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        try:
            mode = os.stat(self.path).st_mode
        except OSError:
            self._fail(f"cannot open NMEA source {self.path}")
            return
        if stat.S_ISREG(mode):
            self._task = asyncio.create_task(self._replay_file(), name="nmea-file")
            self._detail = "replaying NMEA log"
        else:
            self._open_device()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._close_device()
        self._halt()

    def feed_line(self, line: str) -> None:
        report = parse_sentence(line)
        if report is None:
            if line.strip():
                self.rejected_lines += 1
            return
        now = self._clock()
        fix = self._tracker.fix_from(report, now)
        if not report.has_fix:
            self._detail = "receiver reports no fix"
        self._record(fix, had_fix=report.has_fix, at=now)

    async def _replay_file(self) -> None:
        def read_lines() -> list[str]:
            with open(self.path, encoding="ascii", errors="replace") as handle:
                return handle.readlines()

        try:
            lines = await asyncio.to_thread(read_lines)
        except OSError:
            self._fail(f"cannot read NMEA log {self.path}")
            return
        for line in lines:
            self.feed_line(line)
            if self._replay_interval_s > 0:
                await asyncio.sleep(self._replay_interval_s)
        self._detail = "end of NMEA log"
        self._publish()

    def _open_device(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            self._fail(f"cannot open NMEA device {self.path}")
            return
        if os.isatty(fd):
            with contextlib.suppress(termios.error):
                tty.setraw(fd)
        self._fd = fd
        self._detail = "reading NMEA device"
        asyncio.get_running_loop().add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        assert self._fd is not None
        try:
            chunk = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close_device()
            self._fail(f"NMEA device {self.path} closed")
            return
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > 4096:
            self._buffer = b""
        for raw in lines:
            self.feed_line(raw.decode("ascii", errors="replace"))

    def _close_device(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(ValueError, RuntimeError):
            asyncio.get_running_loop().remove_reader(fd)
        os.close(fd)
