"""Local record writes: validate, store the body and its projections, index, queue the change.

Functions here run inside a transaction the caller opened (see `database.transaction`),
so a bulk import commits many records at once and a single edit commits the
record, its index entries and its outbox change together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tui_crm.domain.entities import EntityDef, FieldType
from tui_crm.domain.errors import RecordMissing, ValidationFailed
from tui_crm.domain.records import Record, RecordState
from tui_crm.domain.values import derive_fields, is_empty, validate
from tui_crm.store import indexing, outbox
from tui_crm.store.database import Connection
from tui_crm.store.ids import new_id

RECORD_COLUMNS = "rowid, entity, id, name, modified_on, server_version, state, sync_error, body"


def row_to_record(row: tuple[Any, ...]) -> Record:
    _, entity, ident, name, modified_on, server_version, state, sync_error, body = row[:9]
    return Record(
        entity=entity,
        id=ident,
        fields=json.loads(body),
        state=RecordState(state),
        name=name,
        modified_on=modified_on,
        server_version=server_version,
        sync_error=sync_error,
    )


def find_row(conn: Connection, entity: str, record_id: str) -> tuple[Any, ...] | None:
    """The row including locally deleted ones (which lists and `get` hide)."""
    row: tuple[Any, ...] | None = conn.execute(
        f"SELECT {RECORD_COLUMNS} FROM records WHERE entity = ? AND id = ?",
        (entity, record_id),
    ).fetchone()
    return row


def get_record(conn: Connection, entity: str, record_id: str) -> Record:
    row = find_row(conn, entity, record_id)
    if row is None or row[6] == RecordState.DELETED:
        raise RecordMissing(entity, record_id)
    return row_to_record(row)


def check_lookups(conn: Connection, entity: EntityDef, values: Mapping[str, Any]) -> dict[str, str]:
    """Lookups must point at a record we hold; the pure validator cannot see the database."""
    errors: dict[str, str] = {}
    for name, value in values.items():
        field = entity.field(name)
        if field is None or field.type != FieldType.LOOKUP or not isinstance(value, Mapping):
            continue
        found = conn.execute(
            "SELECT 1 FROM records WHERE entity = ? AND id = ? AND state != 'deleted'",
            (value.get("entity"), value.get("id")),
        ).fetchone()
        if found is None:
            errors[name] = f"no {value.get('entity')} with that id"
    return errors


def ensure_valid(
    conn: Connection, entity: EntityDef, values: Mapping[str, Any], *, partial: bool
) -> None:
    errors = validate(entity, values, partial=partial)
    lookups = {k: v for k, v in values.items() if k not in errors}
    errors.update(check_lookups(conn, entity, lookups))
    if errors:
        raise ValidationFailed(errors)


def create_record(
    conn: Connection,
    entity: EntityDef,
    values: Mapping[str, Any],
    *,
    now: str,
    record_id: str | None = None,
) -> Record:
    """A local create: the record (state created) and its outbox change."""
    ensure_valid(conn, entity, values, partial=False)
    given = {k: v for k, v in values.items() if not is_empty(v)}
    ident = record_id or new_id()
    if find_row(conn, entity.name, ident) is not None:
        raise ValidationFailed({entity.primary_key: "a record with this id already exists"})
    fields = derive_fields(entity, given)
    record = _insert_row(conn, entity, ident, fields, now, RecordState.CREATED)
    outbox.add_create(conn, entity.name, ident, given, now)
    return record


def update_record(
    conn: Connection, entity: EntityDef, record_id: str, values: Mapping[str, Any], *, now: str
) -> Record:
    """A local edit of named fields; `None` or empty text clears a field."""
    row = find_row(conn, entity.name, record_id)
    if row is None or row[6] == RecordState.DELETED:
        raise RecordMissing(entity.name, record_id)
    ensure_valid(conn, entity, values, partial=True)
    current = row_to_record(row)
    before = dict(current.fields)
    merged = dict(before)
    changed: dict[str, Any] = {}
    for name, value in values.items():
        if is_empty(value):
            if name in merged:
                del merged[name]
                changed[name] = None
        elif merged.get(name) != value:
            merged[name] = value
            changed[name] = value
    if not changed:
        return current
    merged = derive_fields(entity, merged)
    state = _state_after_edit(current)
    name = _primary_name(entity, merged)
    rowid = row[0]
    lat, lon = indexing.position_of(entity, merged) or (None, None)
    conn.execute(
        "UPDATE records SET name = ?, modified_on = ?, latitude = ?, longitude = ?, state = ?, "
        "sync_error = NULL, body = ? WHERE rowid = ?",
        (name, now, lat, lon, state.value, _dumps(merged), rowid),
    )
    indexing.index_record(conn, rowid, entity, name, merged)
    outbox.add_update(conn, entity.name, record_id, changed, current.server_version, now)
    return Record(
        entity=entity.name,
        id=record_id,
        fields=merged,
        state=state,
        name=name,
        modified_on=now,
        server_version=current.server_version,
    )


def delete_record(conn: Connection, entity: EntityDef, record_id: str, *, now: str) -> None:
    """A local delete: hidden at once, removed for good once the server has it (or never had it)."""
    row = find_row(conn, entity.name, record_id)
    if row is None or row[6] == RecordState.DELETED:
        raise RecordMissing(entity.name, record_id)
    rowid, server_version = row[0], row[5]
    indexing.unindex_record(conn, rowid)
    never_sent = outbox.add_delete(conn, entity.name, record_id, server_version, now)
    if never_sent:
        conn.execute("DELETE FROM records WHERE rowid = ?", (rowid,))
    else:
        conn.execute(
            "UPDATE records SET state = 'deleted', modified_on = ? WHERE rowid = ?", (now, rowid)
        )


def related_records(
    conn: Connection, entity: str, record_id: str, limit: int = 500
) -> list[Record]:
    rows = conn.execute(
        f"SELECT {', '.join('r.' + c.strip() for c in RECORD_COLUMNS.split(','))} "
        "FROM record_links l JOIN records r ON r.rowid = l.source_rowid "
        "WHERE l.target_entity = ? AND l.target_id = ? AND r.state != 'deleted' "
        "ORDER BY r.entity, r.name, r.id LIMIT ?",
        (entity, record_id, limit),
    ).fetchall()
    return [row_to_record(row) for row in rows]


def count_records(conn: Connection) -> dict[str, int]:
    """Records per entity, deleted ones left out: read from the trigger-kept counts."""
    counts = {name: 0 for (name,) in conn.execute("SELECT name FROM entities ORDER BY name")}
    for entity, count in conn.execute("SELECT entity, live FROM entity_counts"):
        if entity in counts:
            counts[entity] = count
    return counts


def scan_counts(conn: Connection) -> dict[str, int]:
    """The same by walking every row: what `check` compares the kept counts with."""
    return dict(
        conn.execute(
            "SELECT entity, count(*) FROM records WHERE state != 'deleted' GROUP BY entity"
        ).fetchall()
    )


def _insert_row(
    conn: Connection,
    entity: EntityDef,
    ident: str,
    fields: dict[str, Any],
    now: str,
    state: RecordState,
) -> Record:
    name = _primary_name(entity, fields)
    lat, lon = indexing.position_of(entity, fields) or (None, None)
    cursor = conn.execute(
        "INSERT INTO records(entity, id, name, modified_on, latitude, longitude, state, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (entity.name, ident, name, now, lat, lon, state.value, _dumps(fields)),
    )
    indexing.index_record(conn, cursor.lastrowid, entity, name, fields, fresh=True)
    return Record(
        entity=entity.name, id=ident, fields=fields, state=state, name=name, modified_on=now
    )


def _state_after_edit(record: Record) -> RecordState:
    if record.state in (RecordState.CREATED, RecordState.CONFLICT):
        return record.state
    if record.state == RecordState.ERROR and record.server_version is None:
        return RecordState.CREATED
    return RecordState.UPDATED


def _primary_name(entity: EntityDef, fields: Mapping[str, Any]) -> str:
    value = fields.get(entity.primary_name)
    return value if isinstance(value, str) else ""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
