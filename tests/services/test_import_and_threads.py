"""All-or-nothing imports, and the promise that store work never runs on the event loop."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tui_crm.services import Session


async def test_import_creates_and_updates_in_one_go(session: Session) -> None:
    existing = await session.records.create("account", {"name": "Old name"})
    report = await session.records.import_rows(
        "account",
        [
            {"name": "New A", "revenue": "1000.50", "industrycode": "Consulting"},
            {"accountid": existing.id.upper(), "name": "Renamed"},
            {"name": "New B", "numberofemployees": 12, "address1_latitude": 52.52},
        ],
    )
    assert (report.created, report.updated, report.errors) == (2, 1, {})
    assert (await session.records.get("account", existing.id)).name == "Renamed"
    names = [r.name for r in (await session.records.list("account")).records]
    assert names == ["New A", "New B", "Renamed"]
    new_a = (await session.records.search("account", "new a")).records[0]
    assert new_a.fields["revenue"] == 1000.5 and new_a.fields["industrycode"] == 7


async def test_one_bad_row_writes_nothing_and_every_bad_row_is_reported(session: Session) -> None:
    missing = "6f1e5a40-7d7b-4a3e-9b1c-1d2e3f4a5b6c"
    report = await session.records.import_rows(
        "account",
        [
            {"name": "Fine"},
            {"name": "Bad revenue", "revenue": "lots"},
            {"name": ""},
            {"accountid": missing, "name": "Update of nothing"},
            {"name": "Bad field", "colour": "red"},
        ],
    )
    assert not report.ok
    assert set(report.errors) == {2, 3, 4, 5}
    assert "revenue" in report.errors[2]
    assert report.errors[3] == {"name": "is required"}
    assert "accountid" in report.errors[4]
    assert "colour" in report.errors[5]
    assert (await session.records.counts())["account"] == 0
    assert await session.records.outbox() == []


async def test_rows_may_refer_to_records_created_earlier_in_the_same_import(
    session: Session,
) -> None:
    parent_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    report = await session.records.import_rows(
        "account",
        [
            {"name": "Parent"},
        ],
    )
    assert report.ok
    parent = (await session.records.list("account")).records[0]
    report = await session.records.import_rows(
        "account",
        [
            {"name": "Child", "parentaccountid": parent.id},
            {"name": "X", "parentaccountid": parent_id},
        ],
    )
    assert set(report.errors) == {2}
    assert "parentaccountid" in report.errors[2]


async def test_store_work_runs_on_one_thread_that_is_not_the_loop(session: Session) -> None:
    seen: set[int] = set()

    def where(conn: Any) -> int:
        seen.add(threading.get_ident())
        return int(conn.execute("SELECT 1").fetchone()[0])

    for _ in range(5):
        assert await session.run(where) == 1
    await session.write(where)
    assert len(seen) == 1
    assert threading.get_ident() not in seen


async def test_parse_input_is_reexported_with_field_lookup(session: Session) -> None:
    account = await session.records.entity("account")
    assert session.records.parse_input(account, "revenue", "12.5") == 12.5
    with pytest.raises(ValueError, match="no such field"):
        session.records.parse_input(account, "nope", "1")
