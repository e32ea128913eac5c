"""A client for gpsd's JSON protocol over TCP (https://gpsd.io/gpsd_json.html).

gpsd powers a receiver only while someone watches, so the client subscribes
with `?WATCH` and must keep reading: a stalled reader fills the socket and
gpsd drops it. Several TPV objects may describe one epoch with partial
fields; they are merged per (device, time) before a fix is made.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from tui_crm.geo.fix import Fix, FixMode, is_usable_position

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2947
WATCH_ON = b'?WATCH={"enable":true,"json":true}\n'
WATCH_OFF = b'?WATCH={"enable":false}\n'
LINE_LIMIT = 1 << 20
"""SKY reports with many satellites are long; anything near a MiB is not gpsd."""


class GpsdProtocolError(Exception):
    """The peer is not speaking gpsd's protocol (no VERSION, junk, overlong line)."""


@dataclass(frozen=True, slots=True)
class TpvReport:
    """One merged epoch: a usable fix, or none (mode < 2, or lat/lon missing)."""

    fix: Fix | None
    mode: FixMode
    device: str


@dataclass(frozen=True, slots=True)
class SkyReport:
    satellites_seen: int | None
    satellites_used: int | None


@dataclass(frozen=True, slots=True)
class DevicesReport:
    paths: tuple[str, ...]


GpsdReport = TpvReport | SkyReport | DevicesReport


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mode(value: Any) -> FixMode:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return FixMode(value)
    return FixMode.UNKNOWN


class TpvMerger:
    """Folds partial TPV objects of the same epoch into one, then judges the fix."""

    def __init__(self) -> None:
        self._key: tuple[Any, Any] | None = None
        self._fields: dict[str, Any] = {}

    def add(self, tpv: dict[str, Any], received_at: float) -> TpvReport:
        key = (tpv.get("device"), tpv.get("time"))
        if key != self._key or key[1] is None:
            self._key, self._fields = key, {}
        self._fields.update(tpv)
        merged = self._fields
        mode = _mode(merged.get("mode"))
        device = str(merged.get("device", ""))
        lat, lon = _finite(merged.get("lat")), _finite(merged.get("lon"))
        if mode < FixMode.FIX_2D or lat is None or lon is None:
            return TpvReport(None, mode, device)
        if not is_usable_position(lat, lon):
            return TpvReport(None, mode, device)
        eph = _finite(merged.get("eph"))
        if eph is None:
            epx, epy = _finite(merged.get("epx")), _finite(merged.get("epy"))
            eph = math.hypot(epx, epy) if epx is not None and epy is not None else None
        status = merged.get("status")
        fix = Fix(
            lat=lat,
            lon=lon,
            accuracy_m=eph,
            mode=mode,
            received_at=received_at,
            degraded=status == 5,
        )
        return TpvReport(fix, mode, device)


def interpret(obj: dict[str, Any], merger: TpvMerger, received_at: float) -> GpsdReport | None:
    """Turn one decoded gpsd object into a report, or None for classes we do not use."""
    cls = obj.get("class")
    if cls == "TPV":
        return merger.add(obj, received_at)
    if cls == "SKY":
        seen, used = obj.get("nSat"), obj.get("uSat")
        satellites = obj.get("satellites")
        if seen is None and isinstance(satellites, list):
            seen = len(satellites)
            used = sum(1 for s in satellites if isinstance(s, dict) and s.get("used") is True)
        return SkyReport(
            seen if isinstance(seen, int) else None, used if isinstance(used, int) else None
        )
    if cls == "DEVICES":
        devices = obj.get("devices")
        paths = (
            tuple(str(d.get("path", "")) for d in devices or [] if isinstance(d, dict))
            if isinstance(devices, list)
            else ()
        )
        return DevicesReport(paths)
    return None


def decode_line(line: bytes) -> dict[str, Any] | None:
    """One JSON object per line; a malformed line is skipped, not fatal."""
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return obj if isinstance(obj, dict) and isinstance(obj.get("class"), str) else None


class GpsdConnection:
    """One watched connection; iterate `reports()` until gpsd closes it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        clock: Callable[[], float],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._clock = clock
        self._merger = TpvMerger()
        self.skipped_lines = 0

    @classmethod
    async def open(
        cls, host: str, port: int, *, clock: Callable[[], float], timeout_s: float = 5.0
    ) -> GpsdConnection:
        """Connect, check the VERSION banner and subscribe."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=LINE_LIMIT), timeout_s
        )
        connection = cls(reader, writer, clock)
        try:
            banner = decode_line(await asyncio.wait_for(reader.readline(), timeout_s))
            if banner is None or banner.get("class") != "VERSION":
                raise GpsdProtocolError("no gpsd VERSION banner")
            writer.write(WATCH_ON)
            await writer.drain()
        except BaseException:
            await connection.close()
            raise
        return connection

    async def reports(self) -> AsyncIterator[GpsdReport]:
        while True:
            try:
                line = await self._reader.readline()
            except (asyncio.LimitOverrunError, ValueError) as exc:
                raise GpsdProtocolError("overlong line from gpsd") from exc
            if not line:
                return
            received_at = self._clock()
            obj = decode_line(line)
            if obj is None:
                self.skipped_lines += 1
                continue
            report = interpret(obj, self._merger, received_at)
            if report is not None:
                yield report

    async def close(self) -> None:
        """Unsubscribe (so gpsd may power the receiver down) and close."""
        try:
            if not self._writer.is_closing():
                self._writer.write(WATCH_OFF)
            self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
        except (OSError, TimeoutError):
            pass
