"""A session the server no longer accepts: one clear error, edits kept, connect again fixes it.

Complements test_sync_emulator's refresh-with-rotation case: here the refresh
token itself is revoked (AADSTS 50173 on the emulator), with and without a
saved password.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tui_crm.connectors.oauth import REFRESH_MARGIN_SECONDS
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


async def _expire_locally_in(session: Session, seconds: float) -> dict[str, object]:
    """The stored access token now ends `seconds` from now (the server still decides)."""
    tokens = dict((await session.settings.credentials())["tokens"])
    tokens["expires_at"] = time.time() + seconds
    await session.settings.set_credentials({"tokens": tokens})
    return tokens


async def test_a_token_about_to_expire_is_refreshed_before_the_request_without_a_401(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    # Inside the refresh margin: still valid for a minute, so a client that waits for the
    # 401 would send it once more; the server expiring it too makes that round trip visible.
    before = await _expire_locally_in(session, REFRESH_MARGIN_SECONDS / 2)
    emu.expire_tokens()
    emu.raw.clear_request_log()

    summary = await sync.sync(["account"])

    assert summary["errors"] == 0
    assert len(emu.raw.request_log) == 1, "no request went out twice (no 401 round trip)"
    assert summary["requests"] == 2, "the refresh, then the one Web API request"
    after = (await session.settings.credentials())["tokens"]
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"], "the rotated refresh token is kept"
    assert after["expires_at"] > time.time() + REFRESH_MARGIN_SECONDS


async def test_a_token_far_from_expiry_is_not_refreshed_and_a_401_still_recovers(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    """The control: outside the margin the token is used as is, so the same server-side
    expiry costs one 401 and a repeat; the test above tells the two apart."""
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    before = await _expire_locally_in(session, REFRESH_MARGIN_SECONDS * 10)
    emu.raw.clear_request_log()
    await sync.sync(["account"])
    assert len(emu.raw.request_log) == 1
    assert (await session.settings.credentials())["tokens"]["access_token"] == (
        before["access_token"]
    )

    emu.expire_tokens()
    emu.raw.clear_request_log()
    summary = await sync.sync(["account"])

    assert summary["errors"] == 0
    log = emu.raw.request_log
    assert len(log) == 2 and log[0] == log[1], "one 401, then the same request again"
    assert summary["requests"] == 3
    after = (await session.settings.credentials())["tokens"]
    assert after["access_token"] != before["access_token"]
