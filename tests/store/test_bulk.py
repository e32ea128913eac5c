"""The bulk insert path keeps every index and the outbox exactly as single creates would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui_crm.domain.errors import ValidationFailed
from tui_crm.domain.records import RecordState
from tui_crm.domain.standard_schema import STANDARD_ENTITIES
from tui_crm.store import listing
from tui_crm.store.bulk import insert_many
from tui_crm.store.database import open_database, transaction
from tui_crm.store.entities import load_entity, save_entities
from tui_crm.store.integrity import run_check
from tui_crm.store.migrations import migrate
from tui_crm.store.outbox import list_changes
from tui_crm.store.paths import ProfilePaths

NOW = "2024-01-01T00:00:00Z"


@pytest.fixture
def conn(tmp_path: Path) -> Any:
    connection = open_database(tmp_path / "db", bytearray(b"\x01" * 32), create=True)
    migrate(connection)
    with transaction(connection):
        save_entities(connection, STANDARD_ENTITIES, source="standard")
    yield connection
    connection.close()


def test_bulk_rows_are_indexed_searchable_and_queued(conn: Any) -> None:
    account = load_entity(conn, "account")
    rows = [
        {"name": f"Bulk {i}", "address1_latitude": 10.0 + i / 100, "address1_longitude": 20.0}
        for i in range(500)
    ]
    with transaction(conn):
        ids = insert_many(conn, account, rows, now=NOW)
    assert len(set(ids)) == 500
    page = listing.list_records(conn, account, search="bulk", limit=1000)
    assert {r.id for r in page.records} == set(ids)
    positions = conn.execute("SELECT count(*) FROM record_positions").fetchone()[0]
    assert positions == 500
    assert len(list_changes(conn)) == 500


def test_bulk_server_rows_queue_nothing(conn: Any) -> None:
    contact = load_entity(conn, "contact")
    with transaction(conn):
        insert_many(
            conn,
            contact,
            [{"firstname": "A", "lastname": "B"}],
            now=NOW,
            queue_changes=False,
            state=RecordState.SYNCED,
        )
    page = listing.list_records(conn, contact)
    assert [(r.name, r.state) for r in page.records] == [("A B", RecordState.SYNCED)]
    assert list_changes(conn) == []


def test_one_invalid_row_rolls_back_the_batch(conn: Any, tmp_path: Path) -> None:
    account = load_entity(conn, "account")
    rows: list[dict[str, Any]] = [{"name": "ok"}] * 10 + [{"name": "bad", "revenue": "x"}]
    with pytest.raises(ValidationFailed, match="row 11: revenue"), transaction(conn):
        insert_many(conn, account, rows, now=NOW)
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_bulk_then_check_is_clean(conn: Any, tmp_path: Path) -> None:
    account = load_entity(conn, "account")
    with transaction(conn):
        insert_many(conn, account, [{"name": f"n{i}"} for i in range(50)], now=NOW)
    conn.execute("INSERT INTO meta(key, value) VALUES ('profile_id', 'x')")
    report = run_check(conn, ProfilePaths(tmp_path))
    # No key file in this bare database; everything else must be clean.
    assert report.problems == ["profile damaged: key file is missing"]
    assert report.counts["account"] == 50
