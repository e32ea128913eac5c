"""Conflicts: both sides of an edit the server and the device disagree on, kept until resolved."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ConflictPolicy(StrEnum):
    SERVER_WINS = "server"
    DEVICE_WINS = "device"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Conflict:
    id: int
    entity: str
    record_id: str
    kind: str
    """'update-update', 'update-delete' (device edited, server deleted) or 'delete-update'."""
    base: dict[str, Any] | None
    server: dict[str, Any] | None
    device: dict[str, Any] | None
    server_version: str | None
    created_at: str
    resolution: str | None = None
    """None while open; 'server', 'device' or 'merged' once resolved (kept as a log)."""
