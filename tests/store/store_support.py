"""Shared test helpers for the store tests (imported by name: tests have no packages)."""

from __future__ import annotations

from tui_crm.config import KdfSettings

CHEAP_KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)
PASSWORD = "correct horse battery"


class FakeClock:
    """Wall-clock stand-in: lockout tests advance time instead of sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
