"""Per-entity sync filters: `$filter` + `modifiedon` watermark, and the id-only pass.

Dataverse refuses `$filter` together with change tracking (the emulator too),
so a filtered entity pulls what changed since its watermark and then lists
the ids that still match, to drop records deleted on the server or gone out
of the filter. What the client asked is read back from the emulator's log.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tui_crm.config import SyncFilter
from tui_crm.domain.errors import ConnectionFailed
from tui_crm.domain.records import RecordState
from tui_crm.services.session import Session

from .conftest import Emu, connect, make_settings
from .test_sync_emulator import local_ids

pytestmark = pytest.mark.asyncio

ACTIVE = "statecode eq 0"


def _account_gets(emu: Emu) -> list[str]:
    return [line for line in emu.raw.request_log if line.startswith("GET /api/data/v9.2/accounts?")]


async def test_filtered_entity_pulls_by_watermark_and_drops_what_left_the_filter(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    ids = sorted(emu.ids("account"))
    emu.update("account", ids[0], {"statecode": 1, "statuscode": 2})
    settings = make_settings(tmp_path, filters={"account": SyncFilter(filter=ACTIVE)})
    sync = await connect(session, settings, emu)
    emu.raw.clear_request_log()

    first = await sync.sync(["account"])

    assert first["errors"] == 0
    assert await local_ids(session, "account") == set(ids[1:]), "the inactive one stays out"
    pulls = [g for g in _account_gets(emu) if "$orderby" in g]
    assert pulls and all(f"$filter=({ACTIVE})" in g for g in pulls)
    assert "modifiedon ge" not in pulls[0], "a first pull has no watermark yet"
    sweeps = [g for g in _account_gets(emu) if "$select=accountid&" in g]
    assert sweeps and all(f"$filter={ACTIVE}" in g for g in sweeps)

    emu.update("account", ids[1], {"name": "renamed on the server"})
    emu.update("account", ids[2], {"statecode": 1, "statuscode": 2})
    emu.delete("account", ids[3])
    new_active = emu.create("account", {"name": "new and active"})
    emu.create("account", {"name": "new and inactive", "statecode": 1, "statuscode": 2})
    await session.records.update("account", ids[4], {"telephone1": "+1 555 0104"})
    emu.raw.clear_request_log()

    second = await sync.sync(["account"])

    assert second["errors"] == 0 and second["conflicts"] == 0
    assert second["pushed"] == 1 and second["deleted"] == 2
    pulls = [g for g in _account_gets(emu) if "$orderby" in g]
    assert len(pulls) == 1 and f"({ACTIVE}) and modifiedon ge 20" in pulls[0]
    assert "$select=" in pulls[0] and "telephone1" in pulls[0]
    expected = (set(ids[1:]) - {ids[2], ids[3]}) | {new_active}
    assert await local_ids(session, "account") == expected
    assert (await session.records.get("account", ids[1])).fields["name"] == (
        "renamed on the server"
    )
    mine = await session.records.get("account", ids[4])
    assert mine.state is RecordState.SYNCED and mine.fields["telephone1"] == "+1 555 0104"
    assert emu.get("account", ids[4])["telephone1"] == "+1 555 0104"  # type: ignore[index]
    # Records outside the filter are still on the server, only not on this device.
    assert emu.get("account", ids[2]) is not None

    third = await sync.sync(["account"])
    assert third["pulled"] <= 2, "only the rows at the watermark's second come again"
    assert third["deleted"] == 0 and await local_ids(session, "account") == expected


async def test_the_id_pass_never_drops_a_record_with_a_pending_edit(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    settings = make_settings(tmp_path, filters={"account": SyncFilter(filter=ACTIVE)})
    sync = await connect(session, settings, emu)
    await sync.sync(["account"])
    record_id = sorted(emu.ids("account"))[0]
    emu.update("account", record_id, {"statecode": 1, "statuscode": 2})
    await session.records.update("account", record_id, {"name": "edited offline"})

    summary = await sync.sync(["account"])

    assert summary["conflicts"] == 1, "the server changed it too: a conflict, not a drop"
    local = await session.records.get("account", record_id)
    assert local.fields["name"] == "edited offline" and local.state is RecordState.CONFLICT
    [conflict] = await sync.conflicts(open_only=True)
    assert conflict.device is not None and conflict.device["name"] == "edited offline"


async def test_a_filter_the_server_refuses_is_one_clear_error_and_nothing_is_lost(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    settings = make_settings(tmp_path, filters={"account": SyncFilter(filter="nosuchfield eq 1")})
    sync = await connect(session, settings, emu)
    local = await session.records.create("account", {"name": "made offline"})
    with pytest.raises(ConnectionFailed) as caught:
        await sync.sync(["account"])
    message = str(caught.value)
    assert message.startswith("pulling Accounts failed:") and "(HTTP 400)" in message
    assert "\n" not in message
    assert emu.get("account", local.id) is not None, "the push before the pull went through"
    assert await session.records.outbox() == []


async def test_a_changed_filter_fetches_the_older_records_it_now_matches(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    ids = sorted(emu.ids("account"))
    emu.update("account", ids[0], {"statecode": 1, "statuscode": 2})
    time.sleep(1.1)  # the others are modified a second later, past its `modifiedon`
    for record_id in ids[1:]:
        emu.update("account", record_id, {"fax": "+1 555 0000"})
    narrow = make_settings(tmp_path, filters={"account": SyncFilter(filter=ACTIVE)})
    sync = await connect(session, narrow, emu)
    await sync.sync(["account"])
    assert await local_ids(session, "account") == set(ids[1:])
    await session.records.update("account", ids[1], {"telephone1": "+1 555 0111"})

    wide = make_settings(
        tmp_path, filters={"account": SyncFilter(filter=f"{ACTIVE} or statecode eq 1")}
    )
    sync.configure(wide)
    emu.raw.clear_request_log()
    summary = await sync.sync(["account"])

    assert summary["errors"] == 0 and summary["conflicts"] == 0
    assert await local_ids(session, "account") == set(ids)
    pulls = [g for g in _account_gets(emu) if "$orderby" in g]
    assert pulls and "modifiedon ge" not in pulls[0], "a new filter pulls from scratch"
    mine = await session.records.get("account", ids[1])
    assert mine.fields["telephone1"] == "+1 555 0111"
    assert emu.get("account", ids[1])["telephone1"] == "+1 555 0111"  # type: ignore[index]

    # Narrowing again: what no longer matches leaves through the id-only pass,
    # except a record with a pending local edit.
    await session.records.update("account", ids[0], {"name": "inactive, edited offline"})
    sync.configure(narrow)
    emu.raw.clear_request_log()
    again = await sync.sync(["account"])
    assert again["errors"] == 0
    pulls = [g for g in _account_gets(emu) if "$orderby" in g]
    assert pulls and "modifiedon ge" not in pulls[0]
    assert emu.get("account", ids[0])["name"] == "inactive, edited offline"  # type: ignore[index]
    assert await local_ids(session, "account") == set(ids[1:])
    steady = await sync.sync(["account"])
    pulls = [g for g in _account_gets(emu) if "$orderby" in g]
    assert steady["errors"] == 0 and "modifiedon ge" in pulls[-1], "same filter: incremental"


MINE = "Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')"


async def test_only_my_records_with_the_equal_user_id_query_function(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    """The filter names no user id: the server applies it to whoever signed in."""
    colleague = emu.raw.other_user  # the seeded records belong to the signed-in demo user
    theirs = emu.raw.create("account", {"name": "the colleague's"}, as_user=colleague)
    settings = make_settings(tmp_path, filters={"account": SyncFilter(filter=MINE)})
    sync = await connect(session, settings, emu)

    first = await sync.sync(["account"])

    assert first["errors"] == 0
    local = await local_ids(session, "account")
    assert theirs not in local
    assert local == emu.ids("account") - {theirs}, "every record of mine, none of theirs"

    # Handed over to the colleague on the server: it leaves this device at the next sync.
    handed = sorted(local)[0]
    emu.raw.update("account", handed, {"ownerid@odata.bind": f"/systemusers({colleague.id})"})
    await sync.sync(["account"])
    assert handed not in await local_ids(session, "account")


async def test_the_user_query_functions_over_http(emu: Emu) -> None:
    """Direct requests: mine, not mine, and the errors the service gives for bad use."""
    import httpx

    from tests.emulator.conftest import password_token

    colleague = emu.raw.other_user
    theirs = emu.raw.create("account", {"name": "theirs"}, as_user=colleague)
    with httpx.Client(base_url=emu.raw.url) as anonymous:
        token = password_token(emu.raw, anonymous)["access_token"]
    with httpx.Client(
        base_url=emu.raw.api_url + "/", headers={"Authorization": f"Bearer {token}"}
    ) as api:

        def ids(text: str) -> set[str]:
            response = api.get("accounts", params={"$select": "accountid", "$filter": text})
            assert response.status_code == 200, response.text
            return {row["accountid"] for row in response.json()["value"]}

        assert ids("Microsoft.Dynamics.CRM.NotEqualUserId(PropertyName='ownerid')") == {theirs}
        assert ids(f"{MINE} and statecode eq 0") == {
            i for i in emu.ids("account") - {theirs} if emu.get("account", i)["statecode"] == 0
        }
        for bad in (
            "Microsoft.Dynamics.CRM.EqualUserId(Name='ownerid')",
            "Microsoft.Dynamics.CRM.EqualUserId(PropertyName='shoesize')",
        ):
            response = api.get("accounts", params={"$filter": bad})
            assert response.status_code in (400, 404) and "error" in response.json(), bad
