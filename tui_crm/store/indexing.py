"""Secondary structures kept in step with `records` in the same transaction.

FTS5 (contentless: the text lives only in the record body, the index holds
tokens), the R*Tree of positions, and the reverse index of lookups. Callers
invoke these inside the write transaction that changes the record, so a crash
can never leave an index pointing at a different version of the row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from tui_crm.domain.entities import TEXTUAL_TYPES, EntityDef
from tui_crm.store.database import Connection


def searchable_text(entity: EntityDef, fields: Mapping[str, Any]) -> str:
    """Every text-like field except the primary name, which has its own FTS column."""
    parts = [
        value
        for f in entity.fields
        if f.type in TEXTUAL_TYPES and f.name != entity.primary_name
        for value in (fields.get(f.name),)
        if isinstance(value, str) and value
    ]
    return "\n".join(parts)


def position_of(entity: EntityDef, fields: Mapping[str, Any]) -> tuple[float, float] | None:
    if not entity.has_position:
        return None
    lat = fields.get(entity.latitude_field or "")
    lon = fields.get(entity.longitude_field or "")
    if (
        isinstance(lat, int | float)
        and isinstance(lon, int | float)
        and _coordinate(lat, 90.0)
        and _coordinate(lon, 180.0)
    ):
        return float(lat), float(lon)
    return None


def _coordinate(value: Any, limit: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and -limit <= value <= limit
    )


def lookups_of(fields: Mapping[str, Any]) -> Iterable[tuple[str, str, str]]:
    for name, value in fields.items():
        if isinstance(value, Mapping) and isinstance(value.get("entity"), str):
            ident = value.get("id")
            if isinstance(ident, str):
                yield name, value["entity"], ident


def index_record(
    conn: Connection,
    rowid: int,
    entity: EntityDef,
    name: str,
    fields: Mapping[str, Any],
    *,
    fresh: bool = False,
) -> None:
    """(Re)build every index entry of one row; `fresh` skips deletes for a brand-new row."""
    if not fresh:
        unindex_record(conn, rowid)
    conn.execute(
        "INSERT INTO records_fts(rowid, name, content) VALUES (?, ?, ?)",
        (rowid, name, searchable_text(entity, fields)),
    )
    position = position_of(entity, fields)
    if position is not None:
        lat, lon = position
        conn.execute(
            "INSERT INTO record_positions(id, min_lat, max_lat, min_lon, max_lon) "
            "VALUES (?, ?, ?, ?, ?)",
            (rowid, lat, lat, lon, lon),
        )
    links = [(rowid, f, target, ident) for f, target, ident in lookups_of(fields)]
    if links:
        conn.executemany("INSERT INTO record_links VALUES (?, ?, ?, ?)", links)


def unindex_record(conn: Connection, rowid: int) -> None:
    conn.execute("DELETE FROM records_fts WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM record_positions WHERE id = ?", (rowid,))
    conn.execute("DELETE FROM record_links WHERE source_rowid = ?", (rowid,))
