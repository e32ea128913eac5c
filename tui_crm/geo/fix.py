"""A position fix and how fresh it is.

Every fix is stamped with the local monotonic clock when it arrives: the
receiver's own `time` field can be absent or wrong without a fix, so it is
never used to judge staleness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class FixMode(IntEnum):
    """gpsd's TPV `mode`; NMEA sources map their fix quality onto it."""

    UNKNOWN = 0
    NO_FIX = 1
    FIX_2D = 2
    FIX_3D = 3


@dataclass(frozen=True, slots=True)
class Fix:
    """A usable position: `received_at` is `time.monotonic()` on arrival."""

    lat: float
    lon: float
    accuracy_m: float | None
    mode: FixMode
    received_at: float
    degraded: bool = False
    """Dead reckoning / estimated: usable, but shown as such."""


class LocationState(StrEnum):
    OFF = "off"
    WAITING = "waiting"
    """Started, nothing heard yet (or no device attached to gpsd)."""
    NO_FIX = "no-fix"
    FIX = "fix"
    STALE = "stale"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class LocationStatus:
    """What the interface shows: the state, the last usable fix and its age."""

    state: LocationState
    fix: Fix | None = None
    age_s: float | None = None
    detail: str = ""

    @property
    def has_position(self) -> bool:
        return self.fix is not None


def is_usable_position(lat: object, lon: object) -> bool:
    """Finite, in range, and not a bool masquerading as a number."""
    if isinstance(lat, bool) or isinstance(lon, bool):
        return False
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def assess(
    *,
    last_fix: Fix | None,
    last_report_had_fix: bool | None,
    last_report_at: float | None,
    now: float,
    stale_after_s: float | None,
    detail: str = "",
) -> LocationStatus:
    """Combine the last fix and the last report into one state.

    Stale wins over no-fix: if the receiver went silent, what it last said
    about its fix is itself old news.
    """
    age = None if last_fix is None else max(0.0, now - last_fix.received_at)
    if last_report_at is None:
        return LocationStatus(LocationState.WAITING, last_fix, age, detail)
    silent_for = now - last_report_at
    if stale_after_s is not None and silent_for > stale_after_s:
        return LocationStatus(LocationState.STALE, last_fix, age, detail)
    if not last_report_had_fix or last_fix is None:
        return LocationStatus(LocationState.NO_FIX, last_fix, age, detail)
    if stale_after_s is not None and age is not None and age > stale_after_s:
        return LocationStatus(LocationState.STALE, last_fix, age, detail)
    return LocationStatus(LocationState.FIX, last_fix, age, detail)
