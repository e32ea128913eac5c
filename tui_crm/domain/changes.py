"""Outbox changes: what the device did that the server has not seen yet."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ChangeOp(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Change:
    """One pending local change.

    `mutation_id` is generated on the device and sent with the change, so a
    retry after a lost response can be recognised instead of applied twice.
    `fields` holds only the fields this change set (all fields for a create).
    """

    seq: int
    entity: str
    record_id: str
    op: ChangeOp
    fields: dict[str, Any]
    base_version: str | None
    mutation_id: str
    created_at: str
    attempts: int = 0
    last_error: str | None = None
