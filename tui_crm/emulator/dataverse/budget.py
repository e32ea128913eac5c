"""Service protection: a request budget per user over a sliding window, as Dataverse has.

Past the budget a request gets 429 with `Retry-After` (whole seconds until the
oldest counted request leaves the window). A `$batch` counts once.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RequestBudget:
    limit: int = 6000
    window_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _told: dict[str, float] = field(default_factory=dict)
    throttled: int = 0
    """429s answered so far."""
    early: int = 0
    """Requests that came before the `Retry-After` their user was given had passed:
    a client that honours the header never adds to this."""

    def configure(self, limit: int, window_seconds: float) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("the budget needs at least one request over a positive window")
        with self._lock:
            self.limit = limit
            self.window_seconds = window_seconds

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
            self._told.clear()
            self.throttled = 0
            self.early = 0

    def charge(self, user_id: str) -> int | None:
        """Count one request; None if allowed, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            if now < self._told.get(user_id, 0.0):
                self.early += 1
            seen = self._seen.setdefault(user_id, deque())
            while seen and seen[0] <= now - self.window_seconds:
                seen.popleft()
            if len(seen) >= self.limit:
                wait = max(1, math.ceil(seen[0] + self.window_seconds - now))
                self._told[user_id] = now + wait
                self.throttled += 1
                return wait
            seen.append(now)
            return None
