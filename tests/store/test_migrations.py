"""Migrations from every earlier schema version reach the same schema and keep the data."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tui_crm.domain.errors import ProfileDamaged
from tui_crm.store import migrations
from tui_crm.store.database import open_database
from tui_crm.store.migrations import LATEST_VERSION, MIGRATIONS, migrate, schema_version

ACCOUNT_ID = "11111111-1111-4111-8111-111111111111"
CONTACT_ID = "22222222-2222-4222-8222-222222222222"


def _open(path: Path) -> Any:
    return open_database(path, bytearray(b"\x07" * 32), create=True)


def _schema(conn: Any) -> set[tuple[str, str]]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {(name, " ".join(sql.split())) for name, sql in rows}


def _seed_v1(conn: Any) -> None:
    body = {"lastname": "Smith", "parentcustomerid": {"entity": "account", "id": ACCOUNT_ID}}
    conn.execute(
        "INSERT INTO records(entity, id, name, state, body) VALUES (?, ?, ?, 'synced', ?)",
        ("account", ACCOUNT_ID, "Acme", json.dumps({"name": "Acme"})),
    )
    conn.execute(
        "INSERT INTO records(entity, id, name, state, body) VALUES (?, ?, ?, 'created', ?)",
        ("contact", CONTACT_ID, "Smith", json.dumps(body)),
    )


@pytest.mark.parametrize("start", [0, *[version for version, _ in MIGRATIONS[:-1]]])
def test_every_earlier_version_migrates_to_the_fresh_schema(tmp_path: Path, start: int) -> None:
    fresh = _open(tmp_path / "fresh.db")
    migrate(fresh)
    expected = _schema(fresh)
    fresh.close()

    old = _open(tmp_path / "old.db")
    assert migrate(old, target=start) == start
    if start >= 1:
        _seed_v1(old)
    assert migrate(old) == LATEST_VERSION
    assert schema_version(old) == LATEST_VERSION
    assert _schema(old) == expected
    assert old.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if start >= 1:
        assert old.execute("SELECT count(*) FROM records").fetchone()[0] == 2
    old.close()


def test_v1_to_v2_backfills_lookup_links(tmp_path: Path) -> None:
    conn = _open(tmp_path / "v1.db")
    migrate(conn, target=1)
    _seed_v1(conn)
    migrate(conn, target=2)
    links = conn.execute("SELECT field, target_entity, target_id FROM record_links").fetchall()
    assert links == [("parentcustomerid", "account", ACCOUNT_ID)]
    conn.close()


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    conn = _open(tmp_path / "db")
    migrate(conn)
    before = _schema(conn)
    assert migrate(conn) == LATEST_VERSION
    assert _schema(conn) == before
    conn.close()


def test_a_failing_step_rolls_back_and_keeps_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = _open(tmp_path / "db")
    migrate(conn)

    def broken(c: Any) -> None:
        c.execute("CREATE TABLE half_done(x)")
        raise RuntimeError("bug in migration")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, (LATEST_VERSION + 1, broken)))
    monkeypatch.setattr(migrations, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(RuntimeError):
        migrations.migrate(conn)
    assert schema_version(conn) == LATEST_VERSION
    leftover = conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'")
    assert leftover.fetchone() is None
    conn.close()


def test_a_profile_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    conn = _open(tmp_path / "db")
    migrate(conn)
    newer = str(LATEST_VERSION + 5)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (newer,))
    with pytest.raises(ProfileDamaged, match="newer than this program"):
        migrate(conn)
    conn.close()
    assert os.path.getsize(tmp_path / "db") > 0


def test_v3_counts_what_is_there_and_the_triggers_keep_counting(tmp_path: Path) -> None:
    conn = _open(tmp_path / "v2.db")
    migrate(conn, target=2)
    _seed_v1(conn)
    conn.execute(
        "INSERT INTO records(entity, id, name, state, body) VALUES ('account', ?, 'Gone', "
        "'deleted', '{}')",
        ("33333333-3333-4333-8333-333333333333",),
    )
    migrate(conn)
    live = dict(conn.execute("SELECT entity, live FROM entity_counts").fetchall())
    assert live == {"account": 1, "contact": 1}, "deleted records are not counted"

    def counts() -> dict[str, int]:
        return dict(conn.execute("SELECT entity, live FROM entity_counts").fetchall())

    conn.execute(
        "INSERT INTO records(entity, id, name, state, body) VALUES ('task', 't1', 'T', "
        "'created', '{}')"
    )
    assert counts() == {"account": 1, "contact": 1, "task": 1}
    conn.execute("UPDATE records SET state = 'deleted' WHERE id = ?", (CONTACT_ID,))
    assert counts()["contact"] == 0
    conn.execute("UPDATE records SET state = 'synced' WHERE id = ?", (CONTACT_ID,))
    conn.execute("UPDATE records SET name = 'renamed' WHERE id = ?", (CONTACT_ID,))
    assert counts()["contact"] == 1, "only a change in or out of 'deleted' counts"
    conn.execute(
        "UPDATE records SET state = 'synced' WHERE id = '33333333-3333-4333-8333-333333333333'"
    )
    assert counts()["account"] == 2
    conn.execute("DELETE FROM records WHERE id = ?", (ACCOUNT_ID,))
    conn.execute("DELETE FROM records WHERE id = 't1'")
    assert counts() == {"account": 1, "contact": 1, "task": 0}
    scanned = dict(
        conn.execute(
            "SELECT entity, count(*) FROM records WHERE state != 'deleted' GROUP BY entity"
        ).fetchall()
    )
    assert {k: v for k, v in counts().items() if v} == scanned
    conn.close()


def test_v4_a_synced_row_gets_its_base_when_it_first_becomes_pending(tmp_path: Path) -> None:
    conn = _open(tmp_path / "db")
    migrate(conn)
    synced = json.dumps({"name": "As on the server"})
    conn.execute(
        "INSERT INTO records(entity, id, name, state, body, base_body) "
        "VALUES ('account', ?, 'n', 'synced', ?, NULL)",
        (ACCOUNT_ID, synced),
    )

    def base() -> Any:
        return conn.execute("SELECT base_body FROM records WHERE id = ?", (ACCOUNT_ID,)).fetchone()[
            0
        ]

    conn.execute("UPDATE records SET name = 'x' WHERE id = ?", (ACCOUNT_ID,))
    assert base() is None, "no change of state, no base"
    conn.execute(
        "UPDATE records SET state = 'updated', body = ? WHERE id = ?",
        (json.dumps({"name": "edited here"}), ACCOUNT_ID),
    )
    assert json.loads(base()) == {"name": "As on the server"}, "the body before the edit"
    conn.execute("UPDATE records SET state = 'deleted', body = '{}' WHERE id = ?", (ACCOUNT_ID,))
    assert json.loads(base()) == {"name": "As on the server"}, "kept, not overwritten"

    conn.execute(
        "UPDATE records SET state = 'synced', base_body = NULL, body = ? WHERE id = ?",
        (synced, ACCOUNT_ID),
    )
    given = json.dumps({"name": "a base the writer chose"})
    conn.execute(
        "UPDATE records SET state = 'conflict', base_body = ? WHERE id = ?", (given, ACCOUNT_ID)
    )
    assert base() == given, "a base given by the writer wins"
    conn.close()
