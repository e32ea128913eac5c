"""A pulled page written in bulk (one JSON array unpacked by SQLite) stores exactly what
the record-by-record path stores: columns, body, search index, positions, reverse links.

Real encrypted profiles; no server needed (the pages are built here), so every odd
value a server could send can be put through both paths.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tui_crm.connectors.base import Checkpoint, PullPage, RemoteRecord
from tui_crm.domain.conflicts import ConflictPolicy
from tui_crm.domain.entities import EntityDef
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session
from tui_crm.store import sync_store as ss
from tui_crm.store.database import Connection, transaction
from tui_crm.store.entities import load_entity, save_entities
from tui_crm.sync import apply

from .conftest import CHEAP_KDF, PROFILE_PASSWORD, Emu, connect, make_settings

pytestmark = pytest.mark.asyncio

USER = {"entity": "systemuser", "id": "78164013-cbf4-58ae-889f-e2fded98a3b9"}


def odd_accounts() -> list[RemoteRecord]:
    """Values a server may send that the indexes must treat one way on both paths."""
    values: list[dict[str, Any]] = [
        {
            "name": "Plain Account",
            "address1_city": "Zilina",
            "address1_latitude": 49.22,
            "address1_longitude": 18.74,
            "ownerid": USER,
            "telephone1": "+421 900 000 001",
        },
        {
            "name": 'Žltá Ďateľ "quoted" \\ back',
            "description": "line\r\nnext\ttab",
            "address1_latitude": True,
            "address1_longitude": 18.0,
        },
        {"name": "Out of range", "address1_latitude": 91.0, "address1_longitude": 18.0},
        {"name": "Not finite", "address1_latitude": math.inf, "address1_longitude": 1.0},
        {"name": "Huge", "numberofemployees": 2**70, "revenue": 1e300},
        {"name": 42, "address1_city": 7, "emailaddress1": ""},
        {
            "name": "漢字の会社 😀",
            "address1_line1": "\u0000nul and \u001b[31mescape",
            "parentaccountid": {"entity": "account", "id": "a0000000-0000-0000-0000-000000000001"},
            "primarycontactid": {"entity": "contact", "id": "not-a-guid"},
            "createdby": USER,
            "modifiedby": {"entity": "systemuser"},
        },
        {"name": "Integer position", "address1_latitude": 48, "address1_longitude": -17},
    ]
    return [
        RemoteRecord(
            f"a0000000-0000-0000-0000-{index:012}",
            fields,
            f'W/"{index}"',
            f"2026-12-0{1 + index % 3}T10:00:00Z",
        )
        for index, fields in enumerate(values, start=1)
    ]


async def new_session(folder: Path) -> Session:
    return await ProfileService(folder, kdf=CHEAP_KDF).create(PROFILE_PASSWORD)


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Session, Session]]:
    bulk, single = await new_session(tmp_path / "bulk"), await new_session(tmp_path / "single")
    try:
        yield bulk, single
    finally:
        await bulk.close()
        await single.close()


def page_of(records: list[RemoteRecord]) -> PullPage:
    return PullPage(records, [], Checkpoint("delta", "http://127.0.0.1/next"), final=True)


def write_bulk(conn: Connection, records: list[RemoteRecord]) -> None:
    entity = load_entity(conn, "account")
    apply.apply_page(conn, entity, page_of(records), ConflictPolicy.MANUAL)


def write_single(conn: Connection, records: list[RemoteRecord]) -> None:
    """The record-by-record path the engine takes for a record it settles alone."""
    entity = load_entity(conn, "account")
    with transaction(conn):
        for r in records:
            apply._store_synced(conn, entity, r)


def stored(conn: Connection, words: list[str]) -> dict[str, Any]:
    """Everything a record's write leaves behind, keyed by record id (not rowid)."""
    rows = conn.execute(
        "SELECT id, name, modified_on, latitude, longitude, server_version, state, body,"
        " base_body, rowid FROM records ORDER BY id"
    ).fetchall()
    by_rowid = {row[9]: row[0] for row in rows}
    positions = conn.execute("SELECT id, min_lat, max_lat, min_lon, max_lon FROM record_positions")
    links = conn.execute("SELECT source_rowid, field, target_entity, target_id FROM record_links")
    found = {
        word: sorted(
            by_rowid[r]
            for (r,) in conn.execute(
                "SELECT rowid FROM records_fts WHERE records_fts MATCH ?", (word,)
            )
        )
        for word in words
    }
    return {
        "rows": [(*row[:7], json.loads(row[7]), row[8]) for row in rows],
        "positions": sorted((by_rowid[p[0]], *p[1:]) for p in positions),
        "links": sorted((by_rowid[r], *rest) for r, *rest in links),
        "search": found,
        "counts": conn.execute("SELECT entity, live FROM entity_counts").fetchall(),
    }


WORDS = [
    "plain",
    "zilina",
    "zlta",
    "quoted",
    "next",
    "tab",
    "漢字の会社",
    "nul",
    "escape",
    "huge",
    "integer",
    "421",
    "range",
]


async def test_a_page_stores_what_record_by_record_writes_store(
    two: tuple[Session, Session],
) -> None:
    bulk, single = two
    records = odd_accounts()
    await bulk.run(lambda c: write_bulk(c, records))
    await single.run(lambda c: write_single(c, records))
    got, expected = (
        await bulk.run(lambda c: stored(c, WORDS)),
        await single.run(lambda c: stored(c, WORDS)),
    )
    assert got == expected
    assert len(got["rows"]) == len(records)
    assert got["rows"][4][7]["numberofemployees"] == 2**70, "an integer past 64 bits kept"
    assert [p[0] for p in got["positions"]] == [records[0].id, records[7].id]
    assert got["search"]["plain"] == [records[0].id] and got["search"]["nul"] == [records[6].id]
    # Only lookups to entities the profile holds are linked: never the system user.
    assert {link[2] for link in got["links"]} == {"account", "contact"}


async def test_a_second_page_replaces_rows_and_their_index_entries(
    two: tuple[Session, Session],
) -> None:
    bulk, single = two
    first = odd_accounts()
    second = [
        RemoteRecord(
            r.id,
            {
                **r.fields,
                "name": f"Renamed {i}",
                "address1_latitude": None,
                "parentaccountid": None,
            },
            f'W/"{100 + i}"',
            "2026-12-09T00:00:00Z",
        )
        for i, r in enumerate(first[:4])
    ]
    for session, write in ((bulk, write_bulk), (single, write_single)):
        await session.run(lambda c, w=write: w(c, first))  # type: ignore[misc]
        await session.run(lambda c, w=write: w(c, second))  # type: ignore[misc]
    words = [*WORDS, "renamed"]
    got, expected = (
        await bulk.run(lambda c: stored(c, words)),
        await single.run(lambda c: stored(c, words)),
    )
    assert got == expected
    assert len(got["search"]["renamed"]) == 4 and got["search"]["plain"] == []
    assert got["positions"] == [(first[7].id, 48.0, 48.0, -17.0, -17.0)]
    assert got["counts"] == [("account", len(first))]


async def test_an_entity_held_later_gets_the_links_already_stored(tmp_path: Path) -> None:
    session = await new_session(tmp_path / "p")
    try:
        await session.run(lambda c: write_bulk(c, odd_accounts()))

        def hold_systemusers(conn: Connection) -> list[tuple[str, str]]:
            account = load_entity(conn, "account")
            user = EntityDef("systemuser", "User", "Users", "systemuserid", "fullname", ())
            with transaction(conn):
                save_entities(conn, [user, account], source="test")
            return conn.execute(
                "SELECT field, target_id FROM record_links WHERE target_entity = 'systemuser'"
                " ORDER BY field"
            ).fetchall()

        linked = await session.run(hold_systemusers)
    finally:
        await session.close()
    assert linked == [("createdby", USER["id"]), ("ownerid", USER["id"])]


async def test_pages_are_encoded_on_neither_the_event_loop_nor_the_db_thread(
    tmp_path: Path, session: Session, emu: Emu, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DB thread only runs SQL (its statements let other threads run); the loop stays free."""
    threads: list[int] = []
    encode = ss.encode_synced

    def watched(*args: Any) -> bytes:
        threads.append(threading.get_ident())
        return encode(*args)

    monkeypatch.setattr(ss, "encode_synced", watched)
    sync = await connect(session, make_settings(tmp_path), emu)
    db_thread = await session.run(lambda _c: threading.get_ident())
    summary = await sync.sync(["account", "contact"])
    assert summary["pulled"] == len(emu.ids("account")) + len(emu.ids("contact"))
    assert len(threads) >= summary["pulled"] // 7, "one encoding per page of 7"
    assert threading.get_ident() not in threads
    assert db_thread not in threads


async def test_pulled_text_reaches_no_file_in_clear(
    tmp_path: Path, session: Session, emu: Emu, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk write stages pages in temp tables: they must stay in memory, never a file."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("SQLITE_TMPDIR", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    marker = "Canary-" + "q7Zx" * 4
    emu.create("account", {"name": marker, "description": marker + " body"})
    sync = await connect(session, make_settings(tmp_path), emu)
    summary = await sync.sync(["account", "contact"])
    assert summary["pulled"] >= 1
    assert [r.name for r in (await session.records.search("account", marker)).records] == [marker]
    needles = [marker.encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be")]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "profile.db" for p in files)
    leaks = [f"{p.name}" for p in files for n in needles if n in p.read_bytes()]
    assert leaks == []


async def test_text_with_half_an_emoji_syncs_as_a_replacement_character(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    """Dataverse stores UTF-16 and can cut an emoji in two; its JSON then carries a
    lone `\\ud83d`. The record syncs (nothing else stops), the half becomes U+FFFD."""
    cut = emu.create("account", {"name": "Cut \ud83d emoji", "description": "whole 😀 one"})
    sync = await connect(session, make_settings(tmp_path), emu)
    summary = await sync.sync(["account"])
    assert summary["errors"] == 0
    assert summary["pulled"] == len(emu.ids("account"))
    record = await session.records.get("account", cut)
    assert record.fields["name"] == "Cut \ufffd emoji"
    assert record.fields["description"] == "whole 😀 one"
    found = await session.records.search("account", "cut")
    assert [r.id for r in found.records] == [cut]
