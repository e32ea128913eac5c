"""Idle tracking for auto-lock, with an injectable clock.

The clock is a parameter so tests can move time forward instead of sleeping,
and so the decision (locked or not) stays a pure function of two numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class IdleWatch:
    """Remembers when the user last did something and says when the idle limit passed.

    `minutes == 0` turns auto-lock off, matching `Settings.auto_lock_minutes`.
    """

    def __init__(self, minutes: int, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._minutes = minutes
        self._last_activity = clock()

    @property
    def minutes(self) -> int:
        return self._minutes

    @minutes.setter
    def minutes(self, value: int) -> None:
        # A new limit counts from now, so shortening it never locks out of the blue.
        self._minutes = max(0, value)
        self.touch()

    def touch(self) -> None:
        self._last_activity = self._clock()

    def idle_seconds(self) -> float:
        return max(0.0, self._clock() - self._last_activity)

    def expired(self) -> bool:
        if self._minutes <= 0:
            return False
        return self.idle_seconds() >= self._minutes * 60
