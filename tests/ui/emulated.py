"""A Dataverse emulator on loopback and profiles connected to it, for the sync interface tests.

Everything real: the emulator serves HTTP on a free port from a thread of
the test process, the profile is a SQLCipher file in tmp_path, and the app
talks to the server through the product's own HTTP client. Only the retry
pacing and page size are tuned, so a stopped server is given up on quickly
and a 20-record table arrives in several pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import PASSWORD
from tui_crm.config import Settings
from tui_crm.connectors.http import RetryPolicy
from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session
from tui_crm.services.sync import ConnectionOptions, SyncService
from tui_crm.ui.app import CrmApp

DEMO_USER = "demo@example.com"
DEMO_PASSWORD = "demo"
PAGE_SIZE = 7
FAST_RETRIES = RetryPolicy(max_attempts=2, base_seconds=0.01, cap_seconds=0.02)


@pytest.fixture
def emulator() -> Iterator[DataverseEmulator]:
    server = DataverseEmulator(records=20, seed=7, device_code_interval=1, stall_seconds=1.0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def tuned_sync(session: Session, settings: Settings) -> SyncService:
    return SyncService(
        session, settings, retry_policy=FAST_RETRIES, timeout=2.0, page_size=PAGE_SIZE
    )


async def connected_profile(
    settings: Settings, emulator: DataverseEmulator, *, synced: bool = True
) -> None:
    """`tui-crm init` + `connect --auth password` (+ one `sync`), as a user would before."""
    session = await ProfileService(settings.profile, kdf=settings.kdf).create(PASSWORD)
    try:
        sync = tuned_sync(session, settings)
        await sync.connect(
            "dataverse",
            emulator.url,
            ConnectionOptions(auth="password", user=DEMO_USER, password=DEMO_PASSWORD),
        )
        if synced:
            await sync.sync()
    finally:
        await session.close()


async def with_session(settings: Settings, work: Any) -> Any:
    """Open the profile outside the app (before or after it ran) and run `work(session)`."""
    session = await ProfileService(settings.profile, kdf=settings.kdf).unlock(PASSWORD)
    try:
        sync = tuned_sync(session, settings)
        session.sync = sync
        return await work(session)
    finally:
        await session.close()


def tune_app_sync(app: CrmApp) -> SyncService:
    """Swap in the tuned sync service once the app is unlocked (keeps its online choice)."""
    session = app.session_or_raise()
    sync = tuned_sync(session, app.settings)
    sync.online = session.sync.online
    session.sync = sync
    return sync
