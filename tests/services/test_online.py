"""Online mode's record service against the real emulator: server keyset pages, saves with
If-Match, conflicts on a stale base, and the fall back to offline when the server is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import CHEAP_KDF, PASSWORD
from tests.ui.emulated import connected_profile, emulator, tuned_sync
from tui_crm.config import Settings
from tui_crm.domain import FieldType, PageCursor, RecordState
from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.services.online import (
    OnlineRecords,
    keyset_filter,
    odata_literal,
    server_page_request,
)
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session

__all__ = ["emulator"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(profile=tmp_path / "profile", kdf=CHEAP_KDF, online=True)


async def open_online(settings: Settings) -> tuple[Session, OnlineRecords, list[str]]:
    session = await ProfileService(settings.profile, kdf=settings.kdf).unlock(PASSWORD)
    session.sync = tuned_sync(session, settings)
    messages: list[str] = []
    return session, OnlineRecords(session, on_fallback=messages.append), messages


def expected_order(rows: list[dict[str, Any]], column: str, descending: bool) -> list[str]:
    """SQL Server's order: nulls first, strings without case, ties by id (as the emulator)."""

    def key(row: dict[str, Any]) -> tuple[int, Any, str]:
        value = row.get(column)
        text = value.lower() if isinstance(value, str) else value
        return (0, "", row["accountid"]) if value is None else (1, text, row["accountid"])

    return [row["accountid"] for row in sorted(rows, key=key, reverse=descending)]


async def walk(online: OnlineRecords, **options: Any) -> list[str]:
    ids: list[str] = []
    after: PageCursor | None = None
    for _ in range(100):
        page = await online.list("account", after=after, limit=4, **options)
        assert page.extra.get("source") == "server"
        ids.extend(r.id for r in page.records)
        if page.next_cursor is None:
            return ids
        after = page.next_cursor
    raise AssertionError("paging never ended")


def test_literals_are_quoted_and_checked() -> None:
    assert odata_literal(FieldType.TEXT, "O'Brien") == "'O''Brien'"
    assert odata_literal(FieldType.INTEGER, 5) == "5"
    assert odata_literal(FieldType.BOOLEAN, False) == "false"
    assert odata_literal(FieldType.TEXT, None) == "null"
    assert odata_literal(FieldType.DATETIME, "2024-01-02T03:04:05Z") == "2024-01-02T03:04:05Z"
    with pytest.raises(ValueError):
        odata_literal(FieldType.UNIQUEIDENTIFIER, "x) or (1 eq 1")


async def test_server_pages_in_both_directions_with_ties_nulls_and_quotes(
    settings: Settings, emulator: DataverseEmulator
) -> None:
    for name in ("O'Brien", "o'brien", "O'Brien", "Zeta"):
        emulator.create("account", {"name": name})
    emulator.create("account", {"name": "Has phone", "telephone1": "+421 000 001"})
    await connected_profile(settings, emulator)
    session, online, messages = await open_online(settings)
    try:
        rows = emulator.records("account")
        for column, order in (("name", None), ("telephone1", "telephone1")):
            for descending in (False, True):
                walked = await walk(online, order=order, descending=descending)
                assert walked == expected_order(rows, column, descending), (column, descending)
        found = await walk(online, search="brien")
        assert len(found) == 3
        assert messages == [] and session.sync.online
    finally:
        await session.close()


async def test_server_rows_are_cached_and_shown_before_any_sync(
    settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    record_id = emulator.records("account")[0]["accountid"]
    emulator.update("account", record_id, {"name": "Renamed on the server"})
    session, online, _ = await open_online(settings)
    try:
        page = await online.list("account", search="Renamed")
        assert [r.id for r in page.records] == [record_id]
        cached = await session.records.get("account", record_id)
        assert cached.fields["name"] == "Renamed on the server"
        fresh = await online.get("account", record_id)
        assert fresh.fields["name"] == "Renamed on the server"
    finally:
        await session.close()


async def test_save_goes_straight_to_the_server(
    settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    record_id = emulator.records("account")[0]["accountid"]
    session, online, messages = await open_online(settings)
    try:
        saved = await online.update("account", record_id, {"telephone1": "+421 555 000"})
        assert saved.state is RecordState.SYNCED
        assert await session.records.outbox() == []
        created = await online.create("account", {"name": "Made online"})
        assert created.state is RecordState.SYNCED
        assert messages == []
    finally:
        await session.close()
    server = emulator.get("account", record_id)
    assert server is not None and server["telephone1"] == "+421 555 000"
    made = emulator.get("account", created.id)
    assert made is not None and made["name"] == "Made online"


async def test_save_on_a_stale_version_becomes_a_conflict_not_an_overwrite(
    settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    record_id = emulator.records("account")[0]["accountid"]
    emulator.update("account", record_id, {"telephone1": "+421 222 222"})
    session, online, _ = await open_online(settings)
    try:
        saved = await online.update("account", record_id, {"telephone1": "+421 111 111"})
        assert saved.state is RecordState.CONFLICT
        [conflict] = await session.sync.conflicts(open_only=True)
        assert conflict.record_id == record_id
        assert conflict.server is not None and conflict.server["telephone1"] == "+421 222 222"
    finally:
        await session.close()
    server = emulator.get("account", record_id)
    assert server is not None and server["telephone1"] == "+421 222 222"


async def test_server_gone_falls_back_to_the_store_and_keeps_the_edit(
    settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    record_id = emulator.records("account")[0]["accountid"]
    session, online, messages = await open_online(settings)
    try:
        emulator.stop()
        page = await online.list("account", limit=50)
        assert len(page.records) == 20 and page.extra.get("source") != "server"
        assert not session.sync.online
        assert len(messages) == 1 and "offline" in messages[0]

        session.sync.online = True  # the user switches back on while the server is still away
        saved = await online.update("account", record_id, {"telephone1": "+421 999 999"})
        assert saved.fields["telephone1"] == "+421 999 999"
        assert saved.state is RecordState.UPDATED
        [change] = await session.records.outbox()
        assert change.record_id == record_id and change.fields == {"telephone1": "+421 999 999"}
        assert not session.sync.online and len(messages) == 2
    finally:
        await session.close()


def test_keyset_filter_shapes() -> None:
    from tui_crm.domain.standard_schema import STANDARD_ENTITIES

    account = next(e for e in STANDARD_ENTITIES if e.name == "account")
    guid = "00000000-0000-0000-0000-000000000001"
    after = PageCursor("Acme", guid)
    assert keyset_filter(account, "name", FieldType.TEXT, False, after) == (
        f"(name gt 'Acme' or (name eq 'Acme' and accountid gt {guid}))"
    )
    assert keyset_filter(account, "name", FieldType.TEXT, True, PageCursor(None, guid)) == (
        f"(name eq null and accountid lt {guid})"
    )
    filter_text, order_by, column = server_page_request(
        account, search="a b", order="fax", descending=True, after=None
    )
    assert filter_text == "contains(name,'a') and contains(name,'b')"
    assert order_by == "fax desc,accountid" and column == "fax"
