"""A push whose answer was lost, followed by more local edits before the next sync.

The emulator's `truncate` fault applies the request and cuts the answer, so
the device cannot know the write got through; every retry of the same write
is answered the same way until the client gives up and the run fails. The
next run must then finish the job exactly once, without a false conflict
and without losing the edits made in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tui_crm.domain.errors import ConnectionFailed, RecordMissing
from tui_crm.services.session import Session
from tui_crm.services.sync import SyncService

from .conftest import FAST_RETRIES, Emu, connect, make_settings

pytestmark = pytest.mark.asyncio

LOST = ("truncate",) * FAST_RETRIES.max_attempts
"""Enough lost answers to make every retry of one request fail."""


async def sync_whose_answers_are_lost(sync: SyncService, emu: Emu) -> None:
    """One account sync whose writes reach the server but whose every answer is cut."""
    emu.raw.queue_faults(*LOST)
    with pytest.raises(ConnectionFailed):
        await sync.sync(["account"])


async def an_update_whose_answer_was_lost(
    tmp_path: Path, session: Session, emu: Emu, change: dict[str, Any]
) -> tuple[SyncService, str]:
    """A synced account, edited on the device; the sync that sends the edit loses the
    answer. Returns the sync service and the account's id."""
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = (await session.records.list("account", limit=1)).records[0].id
    await session.records.update("account", record_id, change)
    await sync_whose_answers_are_lost(sync, emu)
    return sync, record_id


def writes_to(emu: Emu, record_id: str) -> list[str]:
    return [
        line
        for line in emu.raw.request_log
        if record_id in line and line.split(" ", 1)[0] in ("PATCH", "DELETE", "POST")
    ]


async def test_a_delete_after_a_create_whose_answer_was_lost_reaches_the_server(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record = await session.records.create("account", {"name": "made offline then deleted"})
    await sync_whose_answers_are_lost(sync, emu)
    assert emu.get("account", record.id) is not None  # the create got through
    await session.records.delete("account", record.id)

    summary = await sync.sync(["account"])

    assert summary["errors"] == 0 and summary["conflicts"] == 0
    assert emu.get("account", record.id) is None
    assert record.id not in emu.ids("account")
    with pytest.raises(RecordMissing):
        await session.records.get("account", record.id)
    assert await session.records.outbox() == []
    again = await sync.sync(["account"])
    assert again["pulled"] == 0
    with pytest.raises(RecordMissing):
        await session.records.get("account", record.id)


async def test_a_delete_after_a_create_that_never_left_sends_nothing(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record = await session.records.create("account", {"name": "never sent"})
    await session.records.delete("account", record.id)
    emu.raw.clear_request_log()

    summary = await sync.sync(["account"])

    assert summary["errors"] == 0
    assert writes_to(emu, record.id) == []
    assert record.id not in emu.ids("account")


async def test_a_delete_after_a_create_that_failed_before_the_server_is_done(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    """The create was attempted but never arrived: the DELETE gets 404, which means done."""
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record = await session.records.create("account", {"name": "attempted, never arrived"})
    emu.raw.queue_faults(*(("503",) * FAST_RETRIES.max_attempts))
    with pytest.raises(ConnectionFailed):
        await sync.sync(["account"])
    assert emu.get("account", record.id) is None
    await session.records.delete("account", record.id)

    summary = await sync.sync(["account"])

    assert summary["errors"] == 0 and summary["conflicts"] == 0
    assert record.id not in emu.ids("account")
    assert await session.records.outbox() == []
    with pytest.raises(RecordMissing):
        await session.records.get("account", record.id)


async def test_a_lost_update_answer_then_a_second_edit_is_no_conflict(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync, record_id = await an_update_whose_answer_was_lost(
        tmp_path, session, emu, {"telephone1": "+1 555 0001"}
    )
    after_first = emu.get("account", record_id)
    assert after_first is not None and after_first["telephone1"] == "+1 555 0001"
    await session.records.update("account", record_id, {"name": "second local edit"})

    summary = await sync.sync(["account"])

    assert summary["conflicts"] == 0 and summary["errors"] == 0
    assert await sync.conflicts() == []
    server = emu.get("account", record_id)
    assert server is not None
    assert server["name"] == "second local edit" and server["telephone1"] == "+1 555 0001"
    local = await session.records.get("account", record_id)
    assert local.fields["name"] == "second local edit"
    assert local.fields["telephone1"] == "+1 555 0001"
    assert await session.records.outbox() == []


async def test_a_lost_update_answer_then_a_server_edit_is_still_a_conflict(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    """Re-sending the lost write must not hide someone else's change to the same field."""
    sync, record_id = await an_update_whose_answer_was_lost(
        tmp_path, session, emu, {"telephone1": "+1 555 0001"}
    )
    emu.update("account", record_id, {"telephone1": "+1 555 9999"})
    await session.records.update("account", record_id, {"name": "second local edit"})

    summary = await sync.sync(["account"])

    assert summary["conflicts"] == 1
    conflicts = await sync.conflicts(open_only=True)
    assert [c.kind for c in conflicts] == ["update-update"]
    assert conflicts[0].server is not None
    assert conflicts[0].server["telephone1"] == "+1 555 9999"
    assert conflicts[0].device is not None
    assert conflicts[0].device["name"] == "second local edit"
    assert conflicts[0].device["telephone1"] == "+1 555 0001"
    server = emu.get("account", record_id)
    assert server is not None and server["telephone1"] == "+1 555 9999"
    await sync.resolve(conflicts[0].id, "device")
    await sync.sync(["account"])
    server = emu.get("account", record_id)
    assert server is not None
    assert server["telephone1"] == "+1 555 0001" and server["name"] == "second local edit"


async def test_a_lost_create_answer_then_an_edit_keeps_the_edit(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record = await session.records.create("account", {"name": "made offline"})
    await sync_whose_answers_are_lost(sync, emu)
    await session.records.update("account", record.id, {"telephone1": "+1 555 0002"})

    summary = await sync.sync(["account"])

    assert summary["conflicts"] == 0 and summary["errors"] == 0
    server = emu.get("account", record.id)
    assert server is not None
    assert server["name"] == "made offline" and server["telephone1"] == "+1 555 0002"
    assert (await session.records.get("account", record.id)).fields["telephone1"] == ("+1 555 0002")
    assert await session.records.outbox() == []


async def test_a_lost_update_answer_then_a_delete_is_no_conflict(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync, record_id = await an_update_whose_answer_was_lost(
        tmp_path, session, emu, {"telephone1": "+1 555 0003"}
    )
    await session.records.delete("account", record_id)

    summary = await sync.sync(["account"])

    assert summary["conflicts"] == 0 and summary["errors"] == 0
    assert record_id not in emu.ids("account")
    assert await session.records.outbox() == []
