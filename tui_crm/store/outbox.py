"""The outbox: local changes the server has not seen yet, written with the record.

Coalescing keeps the outbox short on a device that edits for days offline: an
update folds into a change that was never sent (attempts = 0), and deleting a
record the server never saw removes its create instead of sending both.
A change that was sent at least once is never altered, because the server
may already have applied it under its mutation id.
"""

from __future__ import annotations

import json
from typing import Any

from tui_crm.domain.changes import Change, ChangeOp
from tui_crm.store.database import Connection
from tui_crm.store.ids import new_id

_COLUMNS = (
    "seq, entity, record_id, op, fields, base_version, mutation_id, created_at, "
    "attempts, last_error"
)


def add_create(
    conn: Connection, entity: str, record_id: str, fields: dict[str, Any], now: str
) -> None:
    _insert(conn, entity, record_id, ChangeOp.CREATE, fields, None, now)


def add_update(
    conn: Connection,
    entity: str,
    record_id: str,
    changed: dict[str, Any],
    base_version: str | None,
    now: str,
) -> None:
    last = _last_unsent(conn, entity, record_id)
    if last is not None and last[1] in (ChangeOp.CREATE, ChangeOp.UPDATE):
        seq, op, fields_json = last
        fields = json.loads(fields_json)
        for name, value in changed.items():
            if op == ChangeOp.CREATE and value is None:
                fields.pop(name, None)
            else:
                fields[name] = value
        conn.execute("UPDATE outbox SET fields = ? WHERE seq = ?", (_dumps(fields), seq))
        return
    _insert(conn, entity, record_id, ChangeOp.UPDATE, changed, base_version, now)


def add_delete(
    conn: Connection, entity: str, record_id: str, base_version: str | None, now: str
) -> bool:
    """Queue a delete; True when the server never saw the record and nothing needs sending."""
    rows = conn.execute(
        "SELECT seq, op, attempts, status FROM outbox WHERE entity = ? AND record_id = ? "
        "ORDER BY seq",
        (entity, record_id),
    ).fetchall()
    unsent_create = any(
        op == ChangeOp.CREATE and attempts == 0 and status == "pending"
        for _, op, attempts, status in rows
    )
    if unsent_create:
        conn.execute("DELETE FROM outbox WHERE entity = ? AND record_id = ?", (entity, record_id))
        return True
    conn.execute(
        "DELETE FROM outbox WHERE entity = ? AND record_id = ? AND op = 'update' "
        "AND attempts = 0 AND status = 'pending'",
        (entity, record_id),
    )
    _insert(conn, entity, record_id, ChangeOp.DELETE, {}, base_version, now)
    return False


def list_changes(conn: Connection) -> list[Change]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY seq").fetchall()
    return [row_to_change(row) for row in rows]


def count_changes(conn: Connection) -> int:
    """Pending changes, counted without loading them (Home shows this at any size)."""
    return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def first_changes(conn: Connection, limit: int) -> list[Change]:
    """The oldest `limit` changes: a screen shows a bounded head of a long outbox."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY seq LIMIT ?", (limit,))
    return [row_to_change(row) for row in rows.fetchall()]


def row_to_change(row: tuple[Any, ...]) -> Change:
    seq, entity, record_id, op, fields, base, mutation_id, created_at, attempts, last_error = row
    return Change(
        seq=seq,
        entity=entity,
        record_id=record_id,
        op=ChangeOp(op),
        fields=json.loads(fields),
        base_version=base,
        mutation_id=mutation_id,
        created_at=created_at,
        attempts=attempts,
        last_error=last_error,
    )


def _last_unsent(conn: Connection, entity: str, record_id: str) -> tuple[int, str, str] | None:
    row = conn.execute(
        "SELECT seq, op, fields, attempts, status FROM outbox WHERE entity = ? AND record_id = ? "
        "ORDER BY seq DESC LIMIT 1",
        (entity, record_id),
    ).fetchone()
    if row is None or row[3] != 0 or row[4] != "pending":
        return None
    return row[0], row[1], row[2]


def _insert(
    conn: Connection,
    entity: str,
    record_id: str,
    op: ChangeOp,
    fields: dict[str, Any],
    base_version: str | None,
    now: str,
) -> None:
    conn.execute(
        "INSERT INTO outbox(entity, record_id, op, fields, base_version, mutation_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (entity, record_id, op.value, _dumps(fields), base_version, new_id(), now),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
