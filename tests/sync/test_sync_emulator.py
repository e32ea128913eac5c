"""Sync against the Dataverse emulator over real loopback HTTP into a real SQLCipher profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_crm.domain.errors import AuthenticationFailed, ConnectionFailed
from tui_crm.domain.records import RecordState
from tui_crm.services.session import Session
from tui_crm.sync.engine import SUMMARY_KEYS

from .conftest import Emu, connect, make_settings

pytestmark = pytest.mark.asyncio


async def local_ids(session: Session, entity: str) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        page = await session.records.list(entity, after=cursor, limit=200)
        ids.update(r.id for r in page.records)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


async def assert_converged(session: Session, emu: Emu, entity: str, fields: list[str]) -> None:
    assert await local_ids(session, entity) == emu.ids(entity)
    for record_id in emu.ids(entity):
        server = emu.get(entity, record_id)
        local = await session.records.get(entity, record_id)
        assert server is not None
        assert local.state is RecordState.SYNCED
        for name in fields:
            assert local.fields.get(name) == server.get(name), (record_id, name)


async def test_initial_sync_brings_every_record(tmp_path: Path, session: Session, emu: Emu) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    summary = await sync.sync(["account", "contact"])
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["pulled"] == len(emu.ids("account")) + len(emu.ids("contact"))
    assert summary["errors"] == 0 and summary["conflicts"] == 0
    await assert_converged(session, emu, "account", ["name", "telephone1"])
    await assert_converged(session, emu, "contact", ["lastname", "emailaddress1"])
    again = await sync.sync(["account", "contact"])
    assert again["pulled"] == 0 and again["requests"] == 1, "one $batch of delta GETs"


async def first_account(session: Session) -> str:
    page = await session.records.list("account", limit=1)
    return page.records[0].id


async def test_incremental_sync_both_sides(tmp_path: Path, session: Session, emu: Emu) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    server_ids = sorted(emu.ids("account"))
    emu.update("account", server_ids[0], {"name": "changed on server"})
    emu.delete("account", server_ids[1])
    new_on_server = emu.create("account", {"name": "made on server"})
    local_new = await session.records.create("account", {"name": "made on device"})
    await session.records.update("account", server_ids[2], {"telephone1": "555-0100"})
    await session.records.delete("account", server_ids[3])

    summary = await sync.sync(["account"])

    assert summary["pushed"] == 3
    assert summary["deleted"] == 1
    assert summary["conflicts"] == 0 and summary["errors"] == 0
    assert emu.get("account", local_new.id) is not None
    assert emu.get("account", server_ids[2])["telephone1"] == "555-0100"  # type: ignore[index]
    assert emu.get("account", server_ids[3]) is None
    assert new_on_server in await local_ids(session, "account")
    assert (await session.records.get("account", server_ids[0])).fields["name"] == (
        "changed on server"
    )
    assert await session.records.outbox() == []
    await assert_converged(session, emu, "account", ["name", "telephone1"])


async def _edit_both(session: Session, emu: Emu, record_id: str) -> None:
    emu.update("account", record_id, {"name": "server name", "telephone1": "111"})
    await session.records.update("account", record_id, {"name": "device name"})


async def test_manual_conflict_is_kept_and_resolved_take_device(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    await _edit_both(session, emu, record_id)

    summary = await sync.sync(["account"])

    assert summary["conflicts"] == 1
    conflicts = await sync.conflicts(open_only=True)
    assert [c.kind for c in conflicts] == ["update-update"]
    conflict = conflicts[0]
    assert conflict.server is not None and conflict.server["name"] == "server name"
    assert conflict.device is not None and conflict.device["name"] == "device name"
    assert conflict.base is not None and conflict.base["name"] not in ("server name", "device name")
    assert (await session.records.get("account", record_id)).state is RecordState.CONFLICT
    assert emu.get("account", record_id)["name"] == "server name"  # type: ignore[index]
    again = await sync.sync(["account"])
    assert again["conflicts"] == 0
    assert emu.get("account", record_id)["name"] == "server name"  # type: ignore[index]

    await sync.resolve(conflict.id, "device")
    await sync.sync(["account"])
    server = emu.get("account", record_id)
    assert server is not None
    assert server["name"] == "device name" and server["telephone1"] == "111"
    assert (await sync.conflicts(open_only=True)) == []
    assert [c.resolution for c in await sync.conflicts()] == ["device"]
    await assert_converged(session, emu, "account", ["name", "telephone1"])


async def test_manual_conflict_take_server(tmp_path: Path, session: Session, emu: Emu) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    await _edit_both(session, emu, record_id)
    await sync.sync(["account"])
    conflict = (await sync.conflicts(open_only=True))[0]
    await sync.resolve(conflict.id, "server")
    summary = await sync.sync(["account"])
    assert summary["pushed"] == 0
    local = await session.records.get("account", record_id)
    assert local.fields["name"] == "server name" and local.state is RecordState.SYNCED
    await assert_converged(session, emu, "account", ["name", "telephone1"])


async def test_policy_server_wins_keeps_the_device_edit_in_the_log(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path, {"account": "server"}), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    await _edit_both(session, emu, record_id)
    summary = await sync.sync(["account"])
    assert summary["conflicts"] == 1
    assert (await session.records.get("account", record_id)).fields["name"] == "server name"
    logged = await sync.conflicts()
    assert logged[0].resolution == "server"
    assert logged[0].device is not None and logged[0].device["name"] == "device name"
    await assert_converged(session, emu, "account", ["name", "telephone1"])


async def test_policy_device_wins_changed_fields_only(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path, {"account": "device"}), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    await _edit_both(session, emu, record_id)
    summary = await sync.sync(["account"])
    assert summary["conflicts"] == 1
    server = emu.get("account", record_id)
    assert server is not None
    assert server["name"] == "device name"
    assert server["telephone1"] == "111"
    assert (await sync.conflicts())[0].resolution == "device"
    await assert_converged(session, emu, "account", ["name", "telephone1"])


async def test_device_edit_against_server_delete(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    emu.delete("account", record_id)
    await session.records.update("account", record_id, {"name": "still mine"})
    summary = await sync.sync(["account"])
    assert summary["conflicts"] == 1
    conflict = (await sync.conflicts(open_only=True))[0]
    assert conflict.kind == "update-delete" and conflict.server is None
    assert (await session.records.get("account", record_id)).fields["name"] == "still mine"
    await sync.resolve(conflict.id, "device")
    await sync.sync(["account"])
    server = emu.get("account", record_id)
    assert server is not None and server["name"] == "still mine"


async def test_device_delete_against_server_edit(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    emu.update("account", record_id, {"name": "edited on server"})
    await session.records.delete("account", record_id)
    summary = await sync.sync(["account"])
    assert summary["conflicts"] == 1
    conflict = (await sync.conflicts(open_only=True))[0]
    assert conflict.kind == "delete-update"
    assert emu.get("account", record_id) is not None
    await sync.resolve(conflict.id, "server")
    await sync.sync(["account"])
    local = await session.records.get("account", record_id)
    assert local.fields["name"] == "edited on server"
    await assert_converged(session, emu, "account", ["name"])


async def test_expired_access_token_is_refreshed_and_rotation_kept(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    before = (await session.settings.credentials())["tokens"]
    emu.expire_tokens()
    emu.create("account", {"name": "after expiry"})
    summary = await sync.sync(["account"])
    assert summary["errors"] == 0
    after = (await session.settings.credentials())["tokens"]
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    await assert_converged(session, emu, "account", ["name"])


async def test_wrong_server_password_is_one_clear_error(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    from tui_crm.services.sync import ConnectionOptions

    from .conftest import sync_service

    sync = sync_service(session, make_settings(tmp_path))
    with pytest.raises(AuthenticationFailed) as caught:
        await sync.connect(
            "dataverse",
            emu.url,
            ConnectionOptions(
                auth="password", user="demo@example.com", password="not-the-password"
            ),
        )
    assert "not-the-password" not in str(caught.value)
    assert not await sync.is_connected()


async def test_server_errors_lose_nothing(tmp_path: Path, session: Session, emu: Emu) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    await session.records.update("account", record_id, {"name": "kept through errors"})
    emu.faults(1.0, ("truncate",))
    with pytest.raises(ConnectionFailed) as caught:
        await sync.sync(["account"])
    assert "Traceback" not in str(caught.value)
    assert len(await session.records.outbox()) == 1
    assert (await session.records.get("account", record_id)).fields["name"] == "kept through errors"
    emu.faults(0.0)
    summary = await sync.sync(["account"])
    assert summary["errors"] == 0
    assert emu.get("account", record_id)["name"] == "kept through errors"  # type: ignore[index]


async def test_fault_rate_converges_without_duplicates(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    created = [
        (await session.records.create("account", {"name": f"offline {i}"})).id for i in range(8)
    ]
    emu.faults(0.2)
    for _ in range(12):
        try:
            await sync.sync(["account"])
        except ConnectionFailed:
            continue
        if not await session.records.outbox():
            break
    emu.faults(0.0)
    await sync.sync(["account"])
    names = [emu.get("account", i)["name"] for i in emu.ids("account")]  # type: ignore[index]
    for i, record_id in enumerate(created):
        assert emu.get("account", record_id) is not None
        assert names.count(f"offline {i}") == 1
    await assert_converged(session, emu, "account", ["name"])


async def test_malformed_json_and_unexpected_status_are_clear_and_lose_nothing(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    await session.records.update("account", record_id, {"name": "survives bad answers"})
    for kind in ("malformed", "status"):
        emu.faults(1.0, (kind,))
        with pytest.raises(ConnectionFailed) as caught:
            await sync.sync(["account"])
        message = str(caught.value)
        assert "\n" not in message and "Traceback" not in message
        assert len(await session.records.outbox()) == 1
    emu.faults(0.0)
    assert (await sync.sync(["account"]))["errors"] == 0
    assert emu.get("account", record_id)["name"] == "survives bad answers"  # type: ignore[index]


async def test_throttled_with_retry_after_then_completes(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    emu.raw.set_rate_limit(2, 1.0)
    summary = await sync.sync(["account", "contact", "task"])
    emu.raw.reset_budget()
    assert summary["errors"] == 0
    assert summary["requests"] > 3
    await assert_converged(session, emu, "account", ["name"])
    await assert_converged(session, emu, "contact", ["lastname"])


async def test_a_first_pull_knows_its_length_and_a_later_one_asks_nothing(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    """RetrieveTotalRecordCount gives a first pull's bar its length; incremental runs skip it."""
    from tui_crm.sync.engine import Progress

    sync = await connect(session, make_settings(tmp_path), emu)
    steps: list[Progress] = []
    await sync.sync(["account", "contact"], progress=steps.append)
    announced = {s.entity: s.expected for s in steps if s.expected is not None}
    assert announced == {"account": len(emu.ids("account")), "contact": len(emu.ids("contact"))}
    first = next(s for s in steps if s.entity == "account" and s.phase == "pull")
    assert first.expected is not None and first.done == 0, "announced before any page"
    steps.clear()
    emu.raw.clear_request_log()
    again = await sync.sync(["account", "contact"], progress=steps.append)
    assert again["requests"] == 1
    assert all(s.expected is None for s in steps)
    assert not any("RetrieveTotalRecordCount" in line for line in emu.raw.request_log)


async def test_pages_are_decoded_and_parsed_off_the_event_loop(
    tmp_path: Path, session: Session, emu: Emu, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interface runs sync on its event loop: a page of rows must not be parsed there."""
    import threading

    from tui_crm.connectors import odata

    loop_thread = threading.get_ident()
    threads: list[int] = []
    parse = odata.record_from_row

    def watched(*args: object, **kwargs: object) -> object:
        threads.append(threading.get_ident())
        return parse(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(odata, "record_from_row", watched)
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account", "contact"])  # first pulls, one page after another
    emu.update("account", sorted(emu.ids("account"))[0], {"telephone1": "+1 555 0199"})
    emu.update("contact", sorted(emu.ids("contact"))[0], {"jobtitle": "Buyer"})
    again = await sync.sync(["account", "contact"])  # the batched delta pages
    assert again["pulled"] == 2
    assert len(threads) >= len(emu.ids("account")) + len(emu.ids("contact")) + 2
    assert loop_thread not in threads, "a row was parsed on the event loop's thread"
