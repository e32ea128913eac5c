"""Shared test helpers for the store tests (imported by name: tests have no packages)."""

from __future__ import annotations

import json
from pathlib import Path

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


def database_page_size(profile_dir: Path) -> int:
    """The page size the profile's key file names (4 KiB when it names none)."""
    header = json.loads((profile_dir / "profile.key").read_text())
    return int(header.get("db_page_size", 4096))
