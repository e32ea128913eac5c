"""Where a profile's files live, so every part names them the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DB_NAME = "profile.db"
KEY_NAME = "profile.key"
LOCKOUT_NAME = "lockout.json"


@dataclass(frozen=True, slots=True)
class ProfilePaths:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / DB_NAME

    @property
    def key(self) -> Path:
        return self.root / KEY_NAME

    @property
    def lockout(self) -> Path:
        return self.root / LOCKOUT_NAME

    def sidecars(self) -> tuple[Path, ...]:
        """SQLite's companion files, which hold (encrypted) pages between checkpoints."""
        return (
            self.root / f"{DB_NAME}-wal",
            self.root / f"{DB_NAME}-shm",
            self.root / f"{DB_NAME}-journal",
        )
