"""A session the server no longer accepts: one clear error, edits kept, connect again fixes it.

Complements test_sync_emulator's refresh-with-rotation case: here the refresh
token itself is revoked (AADSTS 50173 on the emulator), with and without a
saved password.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_crm.domain.errors import AuthenticationFailed
from tui_crm.services.session import Session
from tui_crm.services.sync import ConnectionOptions

from .conftest import DEMO_PASSWORD, DEMO_USER, Emu, connect, make_settings, sync_service
from .test_sync_emulator import first_account

pytestmark = pytest.mark.asyncio


async def test_revoked_refresh_token_is_one_clear_error_and_nothing_is_lost(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    record_id = await first_account(session)
    await session.records.update("account", record_id, {"name": "edited before expiry"})
    emu.expire_tokens()
    emu.raw.revoke_refresh_tokens()

    with pytest.raises(AuthenticationFailed) as caught:
        await sync.sync(["account"])

    message = str(caught.value)
    assert "\n" not in message and "sign-in refused" in message and "AADSTS" in message
    [change] = await session.records.outbox()
    assert change.record_id == record_id
    assert emu.get("account", record_id)["name"] != "edited before expiry"  # type: ignore[index]

    await sync.connect(
        "dataverse",
        emu.url,
        ConnectionOptions(auth="password", user=DEMO_USER, password=DEMO_PASSWORD),
    )
    summary = await sync.sync(["account"])
    assert summary["errors"] == 0 and summary["pushed"] == 1
    assert emu.get("account", record_id)["name"] == "edited before expiry"  # type: ignore[index]


async def test_with_save_password_an_expired_session_signs_in_again_silently(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    settings = make_settings(tmp_path)
    sync = sync_service(session, settings)
    await sync.connect(
        "dataverse",
        emu.url,
        ConnectionOptions(
            auth="password", user=DEMO_USER, password=DEMO_PASSWORD, save_password=True
        ),
    )
    before = (await session.settings.credentials())["tokens"]
    emu.expire_tokens()
    emu.raw.revoke_refresh_tokens()
    new = emu.create("account", {"name": "made while we were away"})

    summary = await sync.sync(["account"])

    assert summary["errors"] == 0
    assert new in {r.id for r in (await session.records.list("account", limit=200)).records}
    after = (await session.settings.credentials())["tokens"]
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
