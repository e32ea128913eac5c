"""Fault injection: which requests fail, and how, for tests and benchmarks.

A share `rate` of Web API requests (paths under /api/) is answered with one of
the `kinds`, chosen by a seeded generator so a run can be replayed. Tests that
need one particular failure queue it with `queue(...)`; queued faults go first
and ignore the rate. Kinds:

- ``429``: throttled, with `Retry-After`, nothing applied;
- ``503``: service unavailable (error JSON), nothing applied;
- ``reset``: the connection is closed without a response; half the time the
  request was applied first (the response was lost), half the time not;
- ``truncate``: the request is applied, the response declares its full length
  and is cut in the middle;
- ``stall``: the request is applied at once, then the answer is held for
  `stall_seconds` (past the client's timeout): the write succeeded but its
  response never comes;
- ``malformed`` (queue only by default): 200 with a body that is not JSON;
- ``status`` (queue only by default): an unexpected 502 with an HTML body.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field

from tui_crm.connectors.http import DEFAULT_TIMEOUT_SECONDS

STALL_SECONDS = DEFAULT_TIMEOUT_SECONDS * 1.5
"""Default hold of a `stall`: clearly past the product client's timeout (45 s for 30 s),
so with default settings a stall is always a client timeout, never a slow success."""

RANDOM_KINDS: tuple[str, ...] = ("429", "503", "reset", "truncate", "stall")
ALL_KINDS: tuple[str, ...] = (*RANDOM_KINDS, "malformed", "status")


@dataclass
class FaultPlan:
    rate: float = 0.0
    kinds: tuple[str, ...] = RANDOM_KINDS
    seed: int = 0
    latency_ms: float = 0.0
    stall_seconds: float = STALL_SECONDS
    retry_after_seconds: int = 1
    injected: dict[str, int] = field(default_factory=dict)
    _queued: deque[str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.configure(self.rate, self.kinds)
        self._rng = random.Random(self.seed)

    def configure(self, rate: float, kinds: tuple[str, ...] | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate is a share between 0 and 1")
        chosen = tuple(kinds) if kinds is not None else self.kinds
        unknown = [k for k in chosen if k not in ALL_KINDS]
        if unknown or not chosen:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(ALL_KINDS)}")
        with self._lock:
            self.rate = rate
            self.kinds = chosen

    def queue(self, *kinds: str) -> None:
        unknown = [k for k in kinds if k not in ALL_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(ALL_KINDS)}")
        with self._lock:
            self._queued.extend(kinds)

    def next_fault(self) -> str | None:
        """The fault for the request being served now, if any."""
        with self._lock:
            if self._queued:
                kind: str | None = self._queued.popleft()
            elif self.rate > 0 and self._rng.random() < self.rate:
                kind = self._rng.choice(self.kinds)
            else:
                kind = None
            if kind is not None:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind

    def coin(self) -> bool:
        with self._lock:
            return self._rng.random() < 0.5
