"""A change the server refuses stays on the device, with the server's reason, in plain sight.

The refusal is a real one: a contact made offline points at an account that
another user deleted on the server meanwhile, so the emulator answers the
create with Dataverse's 404 for the missing binding target, while every
other change of the run still goes through.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_crm.domain.records import RecordState
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session

from .conftest import CHEAP_KDF, PROFILE_PASSWORD, Emu, connect, make_settings
from .test_cli_sync import run

pytestmark = pytest.mark.asyncio


async def _refused_contact(session: Session, emu: Emu, tmp_path: Path) -> tuple[str, str, str]:
    """Sync, then offline: a contact under account A, an edit of account B; A goes on the server."""
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account", "contact"])
    doomed, other = sorted(emu.ids("account"))[:2]
    contact = await session.records.create(
        "contact",
        {"lastname": "Orphan", "parentcustomerid": {"entity": "account", "id": doomed}},
    )
    await session.records.update("account", other, {"telephone1": "+1 555 0199"})
    emu.delete("account", doomed)
    return contact.id, doomed, other


async def test_a_refused_change_is_kept_on_the_record_and_the_rest_goes_through(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    contact_id, doomed, other = await _refused_contact(session, emu, tmp_path)
    sync = await connect(session, make_settings(tmp_path), emu)

    summary = await sync.sync(["account", "contact"])

    assert summary["errors"] == 1 and summary["pushed"] == 1
    assert emu.get("account", other)["telephone1"] == "+1 555 0199"  # type: ignore[index]
    assert emu.get("contact", contact_id) is None
    record = await session.records.get("contact", contact_id)
    assert record.state is RecordState.ERROR
    assert record.sync_error is not None and doomed in record.sync_error
    [change] = await session.records.outbox()
    assert change.record_id == contact_id and change.last_error == record.sync_error
    assert [r["status"] for r in await sync.runs(1)] == ["done"]

    again = await sync.sync(["account", "contact"])
    assert again["errors"] == 1, "tried again next run, refused again, still reported"
    assert len(await session.records.outbox()) == 1

    await session.records.update("contact", contact_id, {"parentcustomerid": None})
    fixed = await sync.sync(["account", "contact"])
    assert fixed["errors"] == 0 and await session.records.outbox() == []
    server = emu.get("contact", contact_id)
    assert server is not None and server["lastname"] == "Orphan"
    assert (await session.records.get("contact", contact_id)).state is RecordState.SYNCED


async def test_the_cli_says_which_change_was_refused(tmp_path: Path, emu: Emu) -> None:
    """`sync` exits 1 with one line on stderr; `outbox` and `records get` show the reason."""
    init = run(tmp_path, "--password-stdin", "init", stdin=PROFILE_PASSWORD + "\n")
    assert init.returncode == 0, init.stderr
    session = await ProfileService(tmp_path / "p", kdf=CHEAP_KDF).unlock(PROFILE_PASSWORD)
    try:
        contact_id, doomed, _ = await _refused_contact(session, emu, tmp_path)
    finally:
        await session.close()

    synced = run(tmp_path, "--password-stdin", "sync", "--json", stdin=PROFILE_PASSWORD + "\n")
    assert synced.returncode == 1
    assert json.loads(synced.stdout)["errors"] == 1
    last = synced.stderr.strip().splitlines()[-1]
    assert (
        last == "tui-crm: 1 change refused by the server, kept on the device: see 'tui-crm outbox'"
    )
    assert "Traceback" not in synced.stderr

    outbox = run(tmp_path, "--password-stdin", "outbox", "--json", stdin=PROFILE_PASSWORD + "\n")
    assert outbox.returncode == 0, outbox.stderr
    [change] = json.loads(outbox.stdout)
    assert change["record_id"] == contact_id and doomed in change["last_error"]

    shown = run(
        tmp_path,
        "--password-stdin",
        "records",
        "get",
        "contact",
        contact_id,
        stdin=PROFILE_PASSWORD + "\n",
    )
    assert shown.returncode == 0 and "sync_error" in shown.stdout and doomed in shown.stdout
