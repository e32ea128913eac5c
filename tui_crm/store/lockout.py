"""Throttling of password attempts, persisted so restarting the program does not reset it.

The file holds only a counter and a timestamp. Deleting it resets the delay;
that is accepted, because the real cost for an attacker is Argon2id, and
whoever can delete files can also copy the key file away and attack it
offline. The delay protects against guessing at the keyboard.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui_crm.store.atomic import write_atomic

Clock = Callable[[], float]
"""Seconds since the epoch; wall-clock because the state must survive restarts."""

FREE_ATTEMPTS = 5
MAX_DELAY_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class LockoutState:
    failures: int = 0
    last_failure_at: float = 0.0

    def delay(self) -> float:
        """Waiting time owed after the last failure: 1 s after the 5th, doubling, capped."""
        if self.failures < FREE_ATTEMPTS:
            return 0.0
        return min(MAX_DELAY_SECONDS, 2.0 ** (self.failures - FREE_ATTEMPTS))

    def remaining(self, now: float) -> float:
        owed = self.delay()
        if owed == 0.0:
            return 0.0
        elapsed = max(0.0, now - self.last_failure_at)
        return max(0.0, owed - elapsed)


def read_state(path: Path) -> LockoutState:
    """A missing or unreadable file counts as no failures (see the module note)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        failures = raw["failures"]
        last = raw["last_failure_at"]
        if isinstance(failures, int) and isinstance(last, int | float) and failures >= 0:
            return LockoutState(failures=failures, last_failure_at=float(last))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return LockoutState()


def record_failure(path: Path, now: float) -> LockoutState:
    state = LockoutState(failures=read_state(path).failures + 1, last_failure_at=now)
    payload = {"failures": state.failures, "last_failure_at": state.last_failure_at}
    write_atomic(path, json.dumps(payload).encode("utf-8"), mode=0o600)
    return state


def record_success(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
