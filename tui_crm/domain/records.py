"""Records as the store and the interface see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JsonValue = Any
"""A value as held in a record's JSON body (str, int, float, bool, None or a lookup dict)."""


class RecordState(StrEnum):
    SYNCED = "synced"
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    CONFLICT = "conflict"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Record:
    entity: str
    id: str
    fields: dict[str, JsonValue]
    state: RecordState = RecordState.SYNCED
    name: str = ""
    modified_on: str | None = None
    server_version: str | None = None
    sync_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as CLI.md specifies it for `--json` output."""
        return {
            "entity": self.entity,
            "id": self.id,
            "fields": self.fields,
            "state": self.state.value,
        }


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Keyset position: the sort key and id of the last row of the previous page."""

    sort_value: JsonValue
    id: str


@dataclass(frozen=True, slots=True)
class Page:
    records: list[Record]
    next_cursor: PageCursor | None
    total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
