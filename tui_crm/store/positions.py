"""The spatial side of `records`: R*Tree bounding-box candidates for the nearby search.

The R*Tree keeps 32-bit floats rounded outward, so a box query never misses
a point; the exact double coordinates come from `records` and the caller
measures them geodesically. Boxes arrive already split at the antimeridian.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tui_crm.store.database import Connection

Box = tuple[float, float, float, float]
"""(south, north, west, east) in degrees, west <= east."""

MAX_ENTITIES = 200
"""Bound on bound parameters per statement (SQLite's limit is far higher, lists are short)."""


@dataclass(frozen=True, slots=True)
class PositionRow:
    rowid: int
    entity: str
    id: str
    name: str
    latitude: float
    longitude: float


def _entity_clause(entities: Sequence[str] | None) -> tuple[str, list[str]]:
    if entities is None:
        return "", []
    if len(entities) > MAX_ENTITIES:
        raise ValueError("too many entities in one nearby query")
    marks = ", ".join("?" for _ in entities)
    return f" AND r.entity IN ({marks})", list(entities)


def bbox_statement(
    boxes: Sequence[Box], entities: Sequence[str] | None = None
) -> tuple[str, list[object]]:
    """The SQL and arguments `query_bbox` runs (exposed so a test can check its plan).

    `CROSS JOIN` pins the join order: the R*Tree box search is the outer loop
    and each candidate is fetched from `records` by rowid. With a plain JOIN
    and the entity filter, SQLite prefers the `(entity, ...)` index, walks
    every record of the entity and probes the R*Tree once per record, which
    grows with the table instead of with the box (~633 ms at 200k rows).
    """
    entity_sql, entity_args = _entity_clause(entities)
    parts: list[str] = []
    args: list[object] = []
    for south, north, west, east in boxes:
        parts.append(
            "SELECT r.rowid, r.entity, r.id, r.name, r.latitude, r.longitude "
            "FROM record_positions p CROSS JOIN records r ON r.rowid = p.id "
            "WHERE p.max_lat >= ? AND p.min_lat <= ? AND p.max_lon >= ? AND p.min_lon <= ? "
            "AND r.state != 'deleted' AND r.latitude IS NOT NULL AND r.longitude IS NOT NULL"
            + entity_sql
        )
        args.extend((south, north, west, east, *entity_args))
    return " UNION ALL ".join(parts), args


def query_bbox(
    conn: Connection, boxes: Sequence[Box], entities: Sequence[str] | None = None
) -> list[PositionRow]:
    """Live records whose indexed position overlaps any of the boxes.

    `entities=None` means every entity; an empty list means none. Deleted
    rows are already out of the index, but the state is checked as well so a
    half-applied sync can never show a deleted record.
    """
    if not boxes or (entities is not None and not entities):
        return []
    sql, args = bbox_statement(boxes, entities)
    rows = conn.execute(sql, args).fetchall()
    seen: set[int] = set()
    result: list[PositionRow] = []
    for rowid, entity, ident, name, lat, lon in rows:
        if rowid in seen:
            continue
        seen.add(rowid)
        result.append(PositionRow(rowid, entity, ident, name or "", float(lat), float(lon)))
    return result


def count_unplaced(conn: Connection, entities: Sequence[str]) -> int:
    """Live records of these entities that have no usable position (missing or invalid).

    Invalid coordinates never reach the index or the projected columns, so
    "not in the R*Tree" is exactly "cannot be placed".
    """
    if not entities:
        return 0
    entity_sql, entity_args = _entity_clause(entities)
    row = conn.execute(
        "SELECT count(*) FROM records r WHERE r.state != 'deleted'"
        + entity_sql
        + " AND NOT EXISTS (SELECT 1 FROM record_positions p WHERE p.id = r.rowid)",
        entity_args,
    ).fetchone()
    return int(row[0])
