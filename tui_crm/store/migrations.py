"""Schema migrations by version number, applied in order inside one transaction each.

To change the schema, append a `(version, function)` to `MIGRATIONS`; never edit
a released one, because profiles in the field were made with it. The tests
build a profile at every earlier version and migrate it to the newest.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlcipher3

from tui_crm.domain.errors import ProfileDamaged
from tui_crm.store.database import Connection, transaction

Migration = Callable[[Connection], None]


def _run_script(conn: Connection, script: str) -> None:
    """Run statements one by one: `executescript` would COMMIT the migration's transaction.

    A statement ends where SQLite says it is complete, so a trigger's body
    (statements between BEGIN and END) stays in one piece.
    """
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlcipher3.complete_statement(pending):
            if pending.strip(" \n;"):
                conn.execute(pending)
            pending = ""


def _v1_initial(conn: Connection) -> None:
    """The table layout of docs/contracts.md."""
    _run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE entities(
            name TEXT PRIMARY KEY,
            definition TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'standard',
            sync_enabled INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE records(
            rowid INTEGER PRIMARY KEY,
            entity TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
            modified_on TEXT,
            latitude REAL,
            longitude REAL,
            server_version TEXT,
            state TEXT NOT NULL DEFAULT 'synced',
            sync_error TEXT,
            body TEXT NOT NULL DEFAULT '{}',
            base_body TEXT,
            UNIQUE(entity, id)
        );
        CREATE INDEX records_by_name ON records(entity, name, id);
        CREATE INDEX records_by_modified ON records(entity, modified_on, id);
        CREATE INDEX records_by_state ON records(state) WHERE state != 'synced';
        CREATE VIRTUAL TABLE records_fts USING fts5(
            name, content,
            content='', contentless_delete=1,
            tokenize='unicode61 remove_diacritics 2',
            prefix='1 2 3'
        );
        CREATE VIRTUAL TABLE record_positions USING rtree(
            id, min_lat, max_lat, min_lon, max_lon
        );
        CREATE TABLE outbox(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            entity TEXT NOT NULL,
            record_id TEXT NOT NULL,
            op TEXT NOT NULL,
            fields TEXT NOT NULL DEFAULT '{}',
            base_version TEXT,
            mutation_id TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
        );
        CREATE INDEX outbox_by_record ON outbox(entity, record_id);
        CREATE TABLE sync_checkpoints(
            entity TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            value TEXT,
            updated_at TEXT
        );
        CREATE TABLE sync_runs(
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            summary TEXT
        );
        CREATE TABLE conflicts(
            id INTEGER PRIMARY KEY,
            entity TEXT NOT NULL,
            record_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            base TEXT,
            server TEXT,
            device TEXT,
            server_version TEXT,
            created_at TEXT NOT NULL,
            resolution TEXT,
            resolved_at TEXT
        );
        CREATE INDEX conflicts_open ON conflicts(entity, record_id) WHERE resolution IS NULL;
        CREATE TABLE credentials(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT);
        """,
    )


def _v2_record_links(conn: Connection) -> None:
    """Reverse index of lookups, so 'related records' is an index probe, not a table scan."""
    _run_script(
        conn,
        """
        CREATE TABLE record_links(
            source_rowid INTEGER NOT NULL REFERENCES records(rowid) ON DELETE CASCADE,
            field TEXT NOT NULL,
            target_entity TEXT NOT NULL,
            target_id TEXT NOT NULL,
            PRIMARY KEY(source_rowid, field)
        ) WITHOUT ROWID;
        CREATE INDEX record_links_by_target ON record_links(target_entity, target_id);
        """,
    )
    rows = conn.execute("SELECT rowid, body FROM records WHERE state != 'deleted'").fetchall()
    links = []
    for rowid, body in rows:
        for field, value in json.loads(body).items():
            if isinstance(value, dict) and isinstance(value.get("entity"), str):
                links.append((rowid, field, value["entity"], str(value.get("id", ""))))
    conn.executemany("INSERT INTO record_links VALUES (?, ?, ?, ?)", links)


def _v3_entity_counts(conn: Connection) -> None:
    """Live record counts per entity, kept by triggers in the writing transaction.

    Home shows a count per entity on every visit; `count(*) ... GROUP BY` walks
    every row (about 2 s at 1M records, on the one DB thread every other call
    waits for). The triggers cost one small-table update per write.
    """
    _run_script(
        conn,
        """
        CREATE TABLE entity_counts(entity TEXT PRIMARY KEY, live INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TRIGGER records_count_insert AFTER INSERT ON records
        WHEN NEW.state != 'deleted' BEGIN
            INSERT INTO entity_counts(entity, live) VALUES (NEW.entity, 1)
            ON CONFLICT(entity) DO UPDATE SET live = live + 1;
        END;
        CREATE TRIGGER records_count_delete AFTER DELETE ON records
        WHEN OLD.state != 'deleted' BEGIN
            UPDATE entity_counts SET live = live - 1 WHERE entity = OLD.entity;
        END;
        CREATE TRIGGER records_count_update AFTER UPDATE OF state, entity ON records
        WHEN (OLD.state != 'deleted') != (NEW.state != 'deleted') OR OLD.entity != NEW.entity
        BEGIN
            UPDATE entity_counts SET live = live - 1
            WHERE entity = OLD.entity AND OLD.state != 'deleted';
            INSERT INTO entity_counts(entity, live)
            SELECT NEW.entity, 1 WHERE NEW.state != 'deleted'
            ON CONFLICT(entity) DO UPDATE SET live = live + 1;
        END;
        INSERT INTO entity_counts(entity, live)
        SELECT entity, count(*) FROM records WHERE state != 'deleted' GROUP BY entity;
        """,
    )


def _v4_base_kept_on_first_change(conn: Connection) -> None:
    """Synced rows stop storing their body twice (as body and as merge base).

    A synced row's base is its body; the moment it leaves 'synced' (a local
    edit or delete, in the same statement) this trigger copies the old body
    into `base_body`, unless the writer gave a base of its own. Pulls then
    write half as many bytes of JSON. Rows written before keep their copy.
    """
    _run_script(
        conn,
        """
        CREATE TRIGGER records_keep_base AFTER UPDATE OF state ON records
        WHEN OLD.state = 'synced' AND NEW.state != 'synced' AND NEW.base_body IS NULL
        BEGIN
            UPDATE records SET base_body = OLD.body WHERE rowid = NEW.rowid;
        END;
        """,
    )


MIGRATIONS: tuple[tuple[int, Migration], ...] = (
    (1, _v1_initial),
    (2, _v2_record_links),
    (3, _v3_entity_counts),
    (4, _v4_base_kept_on_first_change),
)
LATEST_VERSION = MIGRATIONS[-1][0]


def schema_version(conn: Connection) -> int:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Connection, *, target: int | None = None) -> int:
    """Bring the schema to `target` (default: newest).

    Each step commits together with its version number, or not at all.
    """
    latest = MIGRATIONS[-1][0]
    goal = latest if target is None else target
    current = schema_version(conn)
    if current > latest:
        raise ProfileDamaged(
            f"profile has schema version {current}, newer than this program ({latest})"
        )
    for version, step in MIGRATIONS:
        if current < version <= goal:
            with transaction(conn):
                step(conn)
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(version),),
                )
            current = version
    return current
