"""The spatial side of `records`: R*Tree bounding-box candidates for the nearby search.

The R*Tree keeps 32-bit floats rounded outward, so a box query never misses
a point; the exact double coordinates come from `records` and the caller
measures them geodesically. Boxes arrive already split at the antimeridian.
"""

from __future__ import annotations

import json
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


def entries_statement(boxes: Sequence[Box]) -> tuple[str, list[object]]:
    """The SQL and arguments `index_entries` runs (exposed so a test can check its plan)."""
    part = (
        "SELECT id, min_lat, max_lat, min_lon, max_lon FROM record_positions "
        "WHERE max_lat >= ? AND min_lat <= ? AND max_lon >= ? AND min_lon <= ?"
    )
    args: list[object] = []
    for south, north, west, east in boxes:
        args.extend((south, north, west, east))
    return " UNION ".join([part] * len(boxes)), args


def index_entries(
    conn: Connection, boxes: Sequence[Box]
) -> list[tuple[int, float, float, float, float]]:
    """R*Tree entries overlapping any box, read from the index alone.

    (rowid, south, north, west, east) of each. The index's pages are few and
    clustered by place, while the records they point at are scattered over the
    file: a nearby search reads the records of the nearest entries only
    (`rows_at`), not of every entry in the box.
    """
    if not boxes:
        return []
    sql, args = entries_statement(boxes)
    return [tuple(row) for row in conn.execute(sql, args).fetchall()]


def rows_statement(entities: Sequence[str]) -> tuple[str, list[str]]:
    """The SQL `rows_at` runs and its arguments after the rowids' JSON array (exposed so
    a test can check its plan)."""
    entity_sql, entity_args = _entity_clause(entities)
    # CROSS JOIN pins the order: each wanted rowid is looked up, whatever the
    # planner guesses about the entity filter (it would rather walk an entity's index).
    return (
        "SELECT r.rowid, r.entity, r.id, r.name, r.latitude, r.longitude "
        "FROM json_each(?) AS wanted CROSS JOIN records r ON r.rowid = wanted.value "
        "WHERE r.state != 'deleted' AND r.latitude IS NOT NULL AND r.longitude IS NOT NULL"
        + entity_sql
    ), entity_args


def rows_at(conn: Connection, rowids: Sequence[int], entities: Sequence[str]) -> list[PositionRow]:
    """The live records of these entities among `rowids`, with exact coordinates.

    Deleted rows are already out of the index, but the state is checked as well
    so a half-applied sync can never show a deleted record.
    """
    if not rowids or not entities:
        return []
    sql, entity_args = rows_statement(entities)
    rows = conn.execute(sql, [json.dumps(list(rowids)), *entity_args]).fetchall()
    return [
        PositionRow(rowid, entity, ident, name or "", float(lat), float(lon))
        for rowid, entity, ident, name, lat, lon in rows
    ]


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
