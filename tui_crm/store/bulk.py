"""Bulk insert: many new records in one transaction with executemany.

`records import` (its new rows) and the store benchmark go through here
instead of one `create_record` per row: same validation, projections, indexes
and outbox, but each table is written with one `executemany`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import ValidationFailed
from tui_crm.domain.records import RecordState
from tui_crm.domain.values import derive_fields, is_empty, validate
from tui_crm.store import indexing
from tui_crm.store.database import Connection
from tui_crm.store.ids import new_id
from tui_crm.store.records import check_lookups


def insert_many(
    conn: Connection,
    entity: EntityDef,
    rows: Iterable[Mapping[str, Any]],
    *,
    now: str,
    queue_changes: bool = True,
    state: RecordState = RecordState.CREATED,
    validated: bool = False,
) -> list[str]:
    """Insert validated new records (caller owns the transaction); returns their ids.

    `queue_changes` adds the outbox creates (local data); sync-side callers that
    insert server data pass False with state SYNCED. Any invalid row raises
    `ValidationFailed` naming the row (1-based) and field, and the caller's
    transaction rolls everything back. `validated` skips that check for rows
    the caller has just passed through `invalid_rows`.
    """
    rows = list(rows)
    if not validated:
        problems = invalid_rows(conn, entity, rows)
        if problems:
            offset, errors = next(iter(problems.items()))
            raise ValidationFailed({f"row {offset + 1}: {k}": v for k, v in errors.items()})
    start = conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM records").fetchone()[0]
    record_rows: list[tuple[Any, ...]] = []
    fts_rows: list[tuple[int, str, str]] = []
    position_rows: list[tuple[int, float, float, float, float]] = []
    link_rows: list[tuple[int, str, str, str]] = []
    outbox_rows: list[tuple[str, str, str, str, str]] = []
    ids: list[str] = []
    linkable = indexing.linkable_entities(conn)
    for offset, values in enumerate(rows):
        given = {k: v for k, v in values.items() if not is_empty(v)}
        fields = derive_fields(entity, given)
        rowid = start + offset
        ident = new_id()
        name = fields.get(entity.primary_name)
        name = name if isinstance(name, str) else ""
        position = indexing.position_of(entity, fields)
        lat, lon = position or (None, None)
        body = _dumps(fields)
        record_rows.append((rowid, entity.name, ident, name, now, lat, lon, state.value, body))
        fts_rows.append((rowid, name, indexing.searchable_text(entity, fields)))
        if position is not None:
            position_rows.append((rowid, position[0], position[0], position[1], position[1]))
        link_rows += [
            (rowid, f, t, i)
            for f, t, i in indexing.lookups_of(fields, linkable, entity.lookup_fields)
        ]
        if queue_changes:
            sent = body if fields == given else _dumps(given)
            outbox_rows.append((entity.name, ident, sent, new_id(), now))
        ids.append(ident)
    conn.executemany(
        "INSERT INTO records(rowid, entity, id, name, modified_on, latitude, longitude, "
        "state, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        record_rows,
    )
    conn.executemany("INSERT INTO records_fts(rowid, name, content) VALUES (?, ?, ?)", fts_rows)
    conn.executemany("INSERT INTO record_positions VALUES (?, ?, ?, ?, ?)", position_rows)
    conn.executemany("INSERT INTO record_links VALUES (?, ?, ?, ?)", link_rows)
    conn.executemany(
        "INSERT INTO outbox(entity, record_id, op, fields, mutation_id, created_at) "
        "VALUES (?, ?, 'create', ?, ?, ?)",
        outbox_rows,
    )
    return ids


def invalid_rows(
    conn: Connection, entity: EntityDef, rows: Sequence[Mapping[str, Any]]
) -> dict[int, dict[str, str]]:
    """Every invalid row (0-based offset) with its field problems, so an import reports all."""
    problems: dict[int, dict[str, str]] = {}
    for offset, values in enumerate(rows):
        errors = validate(entity, values, partial=False)
        if not errors and any(isinstance(v, Mapping) for v in values.values()):
            errors = check_lookups(conn, entity, values)
        if errors:
            problems[offset] = errors
    return problems


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
