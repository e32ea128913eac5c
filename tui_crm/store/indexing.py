"""Secondary structures kept in step with `records` in the same transaction.

FTS5 (contentless: the text lives only in the record body, the index holds
tokens), the R*Tree of positions, and the reverse index of lookups. Callers
invoke these inside the write transaction that changes the record, so a crash
can never leave an index pointing at a different version of the row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Container, Iterable, Mapping
from typing import Any

from tui_crm.domain.entities import EntityDef
from tui_crm.store.database import Connection


def searchable_text(entity: EntityDef, fields: Mapping[str, Any]) -> str:
    """Every text-like field except the primary name, which has its own FTS column."""
    parts = [
        value
        for name in entity.searchable_fields
        for value in (fields.get(name),)
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


def linkable_entities(conn: Connection) -> frozenset[str]:
    """The lookup targets worth a reverse link: the entities this profile holds.

    'Related records' is only ever asked of a local record, so a lookup to
    anything else (the owner, who created or last modified it: three per row
    from Dataverse) could never be read back; those rows were a fifth of the
    file and of a pull's writes. `save_entities` links any entity it adds.
    """
    return frozenset(name for (name,) in conn.execute("SELECT name FROM entities"))


def lookups_of(
    fields: Mapping[str, Any], linkable: Container[str], names: Iterable[str] | None = None
) -> list[tuple[str, str, str]]:
    """(field, target entity, target id) of every lookup to a linkable entity.

    `names` (an entity's `lookup_fields`) limits the search to those fields:
    a pull asks once per row, and most fields of a row are not lookups.
    """
    found = []
    pairs = fields.items() if names is None else ((n, fields.get(n)) for n in names)
    for name, value in pairs:
        if isinstance(value, dict):
            target, ident = value.get("entity"), value.get("id")
            if isinstance(target, str) and isinstance(ident, str) and target in linkable:
                found.append((name, target, ident))
    return found


def link_targets(conn: Connection, targets: Collection[str]) -> None:
    """Add the reverse links to `targets` (newly held entities) from every live record."""
    wanted = frozenset(targets)
    rows = conn.execute("SELECT rowid, body FROM records WHERE state != 'deleted'")
    links = [
        (rowid, f, target, ident)
        for rowid, body in rows
        for f, target, ident in lookups_of(json.loads(body), wanted)
    ]
    conn.executemany("INSERT OR IGNORE INTO record_links VALUES (?, ?, ?, ?)", links)


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
    linked = lookups_of(fields, linkable_entities(conn), entity.lookup_fields)
    links = [(rowid, f, target, ident) for f, target, ident in linked]
    if links:
        conn.executemany("INSERT INTO record_links VALUES (?, ?, ?, ?)", links)


def unindex_record(conn: Connection, rowid: int) -> None:
    conn.execute("DELETE FROM records_fts WHERE rowid = ?", (rowid,))
    conn.execute("DELETE FROM record_positions WHERE id = ?", (rowid,))
    conn.execute("DELETE FROM record_links WHERE source_rowid = ?", (rowid,))
