"""Store-side primitives of the sync engine, run on the DB thread.

Plain SQL over the tables of docs/contracts.md; the decisions (which side
wins, what collapses into what) live in `tui_crm.sync`. None of these open a
transaction: the caller wraps a page, a push result or a resolution in one,
so a kill at any instant leaves either all of it or none of it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from tui_crm.domain.conflicts import Conflict
from tui_crm.domain.entities import EntityDef
from tui_crm.store.database import Connection
from tui_crm.store.indexing import (
    index_record,
    lookups_of,
    position_of,
    searchable_text,
    unindex_record,
)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class LocalRecord:
    rowid: int
    id: str
    state: str
    server_version: str | None
    body: dict[str, Any]
    base_body: dict[str, Any] | None


# -- records -----------------------------------------------------------------


def get_local(conn: Connection, entity: str, record_id: str) -> LocalRecord | None:
    row = conn.execute(
        "SELECT rowid, id, state, server_version, body, base_body FROM records "
        "WHERE entity = ? AND id = ?",
        (entity, record_id),
    ).fetchone()
    if row is None:
        return None
    return LocalRecord(
        rowid=row[0],
        id=row[1],
        state=row[2],
        server_version=row[3],
        body=json.loads(row[4]) if row[4] else {},
        base_body=json.loads(row[5]) if row[5] else None,
    )


def local_states(conn: Connection, entity: str, ids: list[str]) -> dict[str, LocalRecord]:
    """The local rows among `ids` (one query per page, not one per record).

    Bodies are read only for records with local changes (the conflict paths
    need them); a synced row comes back with an empty body, because a pull
    replaces it whole and parsing thousands of unused bodies per page showed
    up in incremental syncs.
    """
    found: dict[str, LocalRecord] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT rowid, id, state, server_version,"
            " CASE WHEN state = 'synced' THEN NULL ELSE body END,"
            " CASE WHEN state = 'synced' THEN NULL ELSE base_body END FROM records "
            f"WHERE entity = ? AND id IN ({marks})",
            (entity, *chunk),
        ).fetchall()
        for row in rows:
            found[row[1]] = LocalRecord(
                rowid=row[0],
                id=row[1],
                state=row[2],
                server_version=row[3],
                body=json.loads(row[4]) if row[4] else {},
                base_body=json.loads(row[5]) if row[5] else None,
            )
    return found


def put_record(
    conn: Connection,
    entity: EntityDef,
    record_id: str,
    body: dict[str, Any],
    *,
    state: str,
    server_version: str | None,
    base_body: dict[str, Any] | None,
    modified_on: str | None,
    sync_error: str | None = None,
    known_rowid: int | None = None,
    known_absent: bool = False,
) -> None:
    """Insert or replace one record with its projected columns and every index entry.

    `known_rowid` / `known_absent` spare the lookup when the caller already
    read the row (a pulled page reads all its rows in one query).
    """
    name_value = body.get(entity.primary_name)
    name = name_value if isinstance(name_value, str) else ""
    position = position_of(entity, body)
    latitude, longitude = position if position is not None else (None, None)
    body_json = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if state == "synced" or base_body is None:
        # A synced row's body is its base (the trigger of migration 4 keeps it
        # when the row becomes pending), so it is not written twice.
        base_json: str | None = None
    else:
        base_json = json.dumps(base_body, separators=(",", ":"), ensure_ascii=False)
    existing: tuple[int] | None
    if known_rowid is not None:
        existing = (known_rowid,)
    elif known_absent:
        existing = None
    else:
        existing = conn.execute(
            "SELECT rowid FROM records WHERE entity = ? AND id = ?", (entity.name, record_id)
        ).fetchone()
    if existing is None:
        cursor = conn.execute(
            "INSERT INTO records(entity, id, name, modified_on, latitude, longitude,"
            " server_version, state, sync_error, body, base_body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entity.name,
                record_id,
                name,
                modified_on,
                latitude,
                longitude,
                server_version,
                state,
                sync_error,
                body_json,
                base_json,
            ),
        )
        index_record(conn, int(cursor.lastrowid or 0), entity, name, body, fresh=True)
        return
    rowid = int(existing[0])
    conn.execute(
        "UPDATE records SET name = ?, modified_on = ?, latitude = ?, longitude = ?,"
        " server_version = ?, state = ?, sync_error = ?, body = ?, base_body = ? WHERE rowid = ?",
        (
            name,
            modified_on,
            latitude,
            longitude,
            server_version,
            state,
            sync_error,
            body_json,
            base_json,
            rowid,
        ),
    )
    index_record(conn, rowid, entity, name, body)


ServerRow = tuple[str, dict[str, Any], str | None, str | None]
"""(id, fields, version, modified on) of a record as the server holds it."""


def encode_synced(entity: EntityDef, rows: Iterable[ServerRow], linkable: Container[str]) -> bytes:
    """A page of rows as one JSON array: what `put_synced_many` writes, made without the database.

    Each element is [id, name, modified_on, latitude, longitude, version,
    fields, searchable text, lookups]; the fields object becomes the body text
    inside SQLite. A pull makes this on a worker thread while the DB thread
    writes the page before. `linkable`: the entities a reverse link may point
    at (`linkable_entities`).
    """
    packed = []
    lookups = entity.lookup_fields
    for record_id, fields, version, modified_on in rows:
        name = fields.get(entity.primary_name)
        latitude, longitude = position_of(entity, fields) or (None, None)
        packed.append(
            (
                *(record_id, name if isinstance(name, str) else "", modified_on),
                *(latitude, longitude, version, fields),
                *(searchable_text(entity, fields), lookups_of(fields, linkable, lookups)),
            )
        )
    return _encode_page(packed)


def _encode_page(packed: list[tuple[Any, ...]]) -> bytes:
    """UTF-8 JSON by orjson: six times faster than `json` on a page, and it holds the
    interpreter lock (which the DB thread needs between statements) that much less.
    Integers beyond 64 bits, which orjson refuses, go through `json`."""
    try:
        return orjson.dumps(packed)
    except orjson.JSONEncodeError:
        return _dumps(packed).encode("utf-8")


_PULLED_TABLES = (
    # In memory (the connection's temp_store), so no clear-text page reaches the disk.
    "CREATE TEMP TABLE IF NOT EXISTS pulled(pos INTEGER PRIMARY KEY, id TEXT, name TEXT,"
    " modified_on TEXT, latitude REAL, longitude REAL, server_version TEXT, body TEXT,"
    " searchable TEXT, links TEXT)",
    "CREATE TEMP TABLE IF NOT EXISTS placed(pos INTEGER PRIMARY KEY,"
    " target INTEGER NOT NULL, fresh INTEGER NOT NULL)",
)
_PLACED = "temp.placed JOIN temp.pulled USING(pos)"


def put_synced_many(
    conn: Connection, entity: EntityDef, encoded: bytes, placements: Mapping[int, int | None]
) -> None:
    """Insert or replace server records of a pulled page at once, indexes included.

    `encoded` is the page from `encode_synced`; `placements` maps the position
    of each row to write to its local rowid, or None for a record not stored
    yet (the caller read them in one query; it leaves out rows it keeps).
    The same rows `put_record` would write, but as one statement per table
    that SQLite runs over the JSON by itself: per-row statements took and
    released the interpreter lock hundreds of thousands of times per pull,
    and while a worker thread parsed the next page each release cost a wait
    (half the DB thread's time). A synced row keeps no separate base: its
    body is the base of the next merge, and a trigger copies it to
    `base_body` when a local change makes the row pending.
    """
    next_rowid = int(conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM records").fetchone()[0])
    placed: list[tuple[int, int, int]] = []
    for pos, rowid in placements.items():
        if rowid is None:
            placed.append((pos, next_rowid, 1))
            next_rowid += 1
        else:
            placed.append((pos, rowid, 0))
    for statement in _PULLED_TABLES:
        conn.execute(statement)
    conn.execute("DELETE FROM temp.pulled")
    conn.execute("DELETE FROM temp.placed")
    conn.execute(
        # jsonb_each: each row is parsed once, not once per column taken from it.
        "INSERT INTO temp.pulled SELECT key, value->>0, value->>1, value->>2, value->>3,"
        " value->>4, value->>5, json(value->6), value->>7, json(value->8)"
        " FROM jsonb_each(CAST(? AS TEXT))",
        (encoded,),
    )
    conn.execute(
        "INSERT INTO temp.placed SELECT value->>0, value->>1, value->>2 FROM json_each(?)",
        (_dumps(placed),),
    )
    if any(not fresh for _, _, fresh in placed):
        stale = "SELECT target FROM temp.placed WHERE NOT fresh"
        conn.execute(f"DELETE FROM records_fts WHERE rowid IN ({stale})")
        conn.execute(f"DELETE FROM record_positions WHERE id IN ({stale})")
        conn.execute(f"DELETE FROM record_links WHERE source_rowid IN ({stale})")
        conn.execute(
            "UPDATE records SET name = s.name, modified_on = s.modified_on,"
            " latitude = s.latitude, longitude = s.longitude, server_version = s.server_version,"
            " state = 'synced', sync_error = NULL, body = s.body, base_body = NULL"
            f" FROM (SELECT * FROM {_PLACED} WHERE NOT fresh) AS s WHERE records.rowid = s.target"
        )
    conn.execute(
        "INSERT INTO records(rowid, entity, id, name, modified_on, latitude, longitude,"
        " server_version, state, body)"
        " SELECT target, ?, id, name, modified_on, latitude, longitude, server_version,"
        f" 'synced', body FROM {_PLACED} WHERE fresh ORDER BY target",
        (entity.name,),
    )
    conn.execute(
        "INSERT INTO records_fts(rowid, name, content)"
        f" SELECT target, name, searchable FROM {_PLACED} ORDER BY target"
    )
    conn.execute(
        "INSERT INTO record_positions(id, min_lat, max_lat, min_lon, max_lon)"
        f" SELECT target, latitude, latitude, longitude, longitude FROM {_PLACED}"
        " WHERE latitude IS NOT NULL ORDER BY target"
    )
    conn.execute(
        "INSERT INTO record_links SELECT target, l.value->>0, l.value->>1, l.value->>2"
        f" FROM {_PLACED}, json_each(links) AS l"
    )
    conn.execute("DELETE FROM temp.pulled")
    conn.execute("DELETE FROM temp.placed")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@contextlib.contextmanager
def server_copy_durability(conn: Connection) -> Iterator[None]:
    """Commit pulled pages with `synchronous = NORMAL` (WAL), then restore the setting.

    In WAL mode NORMAL skips the fsync at each commit but keeps every commit
    atomic and survives a killed process; only a power cut can lose the last
    commits, and for a pulled page that loses nothing: the page and its
    checkpoint go together, so the next sync fetches it again. Local edits keep
    the profile's own (FULL) setting, because no server holds a second copy.
    Wrap the whole transaction, so the setting is in force from BEGIN to COMMIT.
    """
    previous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA synchronous = {previous:d}")


def set_base(
    conn: Connection,
    entity: str,
    record_id: str,
    server_version: str | None,
    base_body: dict[str, Any] | None,
) -> None:
    """New server base under a record whose device body must stay (edits still pending)."""
    conn.execute(
        "UPDATE records SET server_version = ?, base_body = ? WHERE entity = ? AND id = ?",
        (
            server_version,
            None if base_body is None else json.dumps(base_body, separators=(",", ":")),
            entity,
            record_id,
        ),
    )


def set_record_state(
    conn: Connection, entity: str, record_id: str, state: str, sync_error: str | None
) -> None:
    conn.execute(
        "UPDATE records SET state = ?, sync_error = ? WHERE entity = ? AND id = ?",
        (state, sync_error, entity, record_id),
    )


def drop_record(conn: Connection, entity: str, record_id: str) -> None:
    row = conn.execute(
        "SELECT rowid FROM records WHERE entity = ? AND id = ?", (entity, record_id)
    ).fetchone()
    if row is None:
        return
    unindex_record(conn, int(row[0]))
    conn.execute("DELETE FROM records WHERE rowid = ?", (int(row[0]),))


def synced_ids(conn: Connection, entity: str) -> set[str]:
    rows = conn.execute(
        "SELECT id FROM records WHERE entity = ? AND state = 'synced'", (entity,)
    ).fetchall()
    return {r[0] for r in rows}


# -- outbox ------------------------------------------------------------------


def outbox_rows(
    conn: Connection, entity: str | None = None, record_id: str | None = None
) -> list[tuple[int, str, str, str, dict[str, Any], str | None, str, int]]:
    """(seq, entity, record_id, op, fields, base_version, status, attempts) in seq order."""
    sql = "SELECT seq, entity, record_id, op, fields, base_version, status, attempts FROM outbox"
    args: tuple[Any, ...] = ()
    if entity is not None and record_id is not None:
        sql += " WHERE entity = ? AND record_id = ?"
        args = (entity, record_id)
    rows = conn.execute(sql + " ORDER BY seq", args).fetchall()
    return [(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}"), r[5], r[6], int(r[7])) for r in rows]


def records_with_pending(conn: Connection, entity: str) -> set[str]:
    rows = conn.execute("SELECT DISTINCT record_id FROM outbox WHERE entity = ?", (entity,))
    return {r[0] for r in rows.fetchall()}


def mark_in_flight(conn: Connection, seqs: tuple[int, ...]) -> None:
    conn.executemany(
        "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1 WHERE seq = ?",
        [(s,) for s in seqs],
    )


def mark_failed(conn: Connection, seqs: tuple[int, ...], reason: str) -> None:
    conn.executemany(
        "UPDATE outbox SET status = 'failed', last_error = ? WHERE seq = ?",
        [(reason, s) for s in seqs],
    )


def mark_pending(conn: Connection, seqs: tuple[int, ...], reason: str | None = None) -> None:
    conn.executemany(
        "UPDATE outbox SET status = 'pending', last_error = ? WHERE seq = ?",
        [(reason, s) for s in seqs],
    )


def remove_outbox(conn: Connection, seqs: tuple[int, ...]) -> None:
    conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])


def remove_outbox_for(conn: Connection, entity: str, record_id: str) -> None:
    conn.execute("DELETE FROM outbox WHERE entity = ? AND record_id = ?", (entity, record_id))


def rebase_outbox(conn: Connection, entity: str, record_id: str, version: str | None) -> None:
    """Pending changes of a record now build on `version` (after a push or a resolution)."""
    conn.execute(
        "UPDATE outbox SET base_version = ? WHERE entity = ? AND record_id = ?",
        (version, entity, record_id),
    )


def replace_outbox(
    conn: Connection,
    entity: str,
    record_id: str,
    op: str,
    fields: dict[str, Any],
    base_version: str | None,
    mutation_id: str,
) -> None:
    """All pending rows of a record become one (a resolution decided what is left to push)."""
    remove_outbox_for(conn, entity, record_id)
    conn.execute(
        "INSERT INTO outbox(entity, record_id, op, fields, base_version, mutation_id, created_at,"
        " attempts, status) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'pending')",
        (entity, record_id, op, json.dumps(fields), base_version, mutation_id, utc_now()),
    )


# -- checkpoints ---------------------------------------------------------------


_SCOPE_MARK = "|"
"""The kind column holds `kind|scope` when a checkpoint belongs to one sync filter."""


def get_checkpoint(conn: Connection, entity: str) -> tuple[str, str, str] | None:
    """(kind, value, scope): scope tells which sync filter the checkpoint was made under."""
    row = conn.execute(
        "SELECT kind, value FROM sync_checkpoints WHERE entity = ?", (entity,)
    ).fetchone()
    if row is None or row[1] is None:
        return None
    kind, _, scope = str(row[0]).partition(_SCOPE_MARK)
    return kind, str(row[1]), scope


def set_checkpoint(conn: Connection, entity: str, kind: str, value: str, scope: str = "") -> None:
    stored_kind = f"{kind}{_SCOPE_MARK}{scope}" if scope else kind
    conn.execute(
        "INSERT INTO sync_checkpoints(entity, kind, value, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(entity) DO UPDATE SET kind = excluded.kind, value = excluded.value, "
        "updated_at = excluded.updated_at",
        (entity, stored_kind, value, utc_now()),
    )


def clear_checkpoint(conn: Connection, entity: str) -> None:
    conn.execute("DELETE FROM sync_checkpoints WHERE entity = ?", (entity,))


# -- runs --------------------------------------------------------------------


def begin_run(conn: Connection) -> tuple[int, int]:
    """Start a run; returns (run id, number of earlier runs found 'running' = interrupted)."""
    interrupted = conn.execute(
        "UPDATE sync_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
        (utc_now(),),
    ).rowcount
    cursor = conn.execute(
        "INSERT INTO sync_runs(started_at, status) VALUES (?, 'running')", (utc_now(),)
    )
    return int(cursor.lastrowid or 0), int(interrupted or 0)


def finish_run(conn: Connection, run_id: int, status: str, summary: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE sync_runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
        (status, utc_now(), json.dumps(summary), run_id),
    )


def recent_runs(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, started_at, finished_at, status, summary FROM sync_runs "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        {
            "id": r[0],
            "started_at": r[1],
            "finished_at": r[2],
            "status": r[3],
            "summary": json.loads(r[4]) if r[4] else None,
        }
        for r in rows
    ]


# -- conflicts ---------------------------------------------------------------


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def open_conflict_id(conn: Connection, entity: str, record_id: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM conflicts WHERE entity = ? AND record_id = ? AND resolution IS NULL",
        (entity, record_id),
    ).fetchone()
    return int(row[0]) if row else None


def add_conflict(
    conn: Connection,
    *,
    entity: str,
    record_id: str,
    kind: str,
    base: dict[str, Any] | None,
    server: dict[str, Any] | None,
    device: dict[str, Any] | None,
    server_version: str | None,
    resolution: str | None,
) -> int:
    cursor = conn.execute(
        "INSERT INTO conflicts(entity, record_id, kind, base, server, device, server_version,"
        " created_at, resolution, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entity,
            record_id,
            kind,
            _json_or_none(base),
            _json_or_none(server),
            _json_or_none(device),
            server_version,
            utc_now(),
            resolution,
            utc_now() if resolution else None,
        ),
    )
    return int(cursor.lastrowid or 0)


def update_conflict_server(
    conn: Connection,
    conflict_id: int,
    kind: str,
    server: dict[str, Any] | None,
    version: str | None,
) -> None:
    conn.execute(
        "UPDATE conflicts SET kind = ?, server = ?, server_version = ? WHERE id = ?",
        (kind, _json_or_none(server), version, conflict_id),
    )


def resolve_conflict_row(conn: Connection, conflict_id: int, resolution: str) -> None:
    conn.execute(
        "UPDATE conflicts SET resolution = ?, resolved_at = ? WHERE id = ?",
        (resolution, utc_now(), conflict_id),
    )


def _conflict(row: tuple[Any, ...]) -> Conflict:
    return Conflict(
        id=row[0],
        entity=row[1],
        record_id=row[2],
        kind=row[3],
        base=json.loads(row[4]) if row[4] else None,
        server=json.loads(row[5]) if row[5] else None,
        device=json.loads(row[6]) if row[6] else None,
        server_version=row[7],
        created_at=row[8],
        resolution=row[9],
    )


_CONFLICT_COLUMNS = (
    "id, entity, record_id, kind, base, server, device, server_version, created_at, resolution"
)


def list_conflicts(conn: Connection, *, open_only: bool = False) -> list[Conflict]:
    where = " WHERE resolution IS NULL" if open_only else ""
    rows = conn.execute(f"SELECT {_CONFLICT_COLUMNS} FROM conflicts{where} ORDER BY id").fetchall()
    return [_conflict(r) for r in rows]


def get_conflict(conn: Connection, conflict_id: int) -> Conflict | None:
    row = conn.execute(
        f"SELECT {_CONFLICT_COLUMNS} FROM conflicts WHERE id = ?", (conflict_id,)
    ).fetchone()
    return _conflict(row) if row else None


# -- entities ----------------------------------------------------------------


def set_sync_enabled(conn: Connection, entities: list[str]) -> None:
    conn.execute("UPDATE entities SET sync_enabled = 0")
    conn.executemany(
        "UPDATE entities SET sync_enabled = 1 WHERE name = ?", [(e,) for e in entities]
    )


def sync_enabled_entities(conn: Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM entities WHERE sync_enabled = 1 ORDER BY name")
    return [r[0] for r in rows.fetchall()]
