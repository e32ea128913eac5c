"""An incremental sync with nothing changed costs one request per entity (counts, not times).

The issue's budget is one request and under 2 KB per entity; the bytes depend on
the bearer token and the synced columns (bench/sync_bench.py reports them by
part), the request count does not, so the count is what this test pins down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tui_crm.config import KdfSettings, Settings
from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session
from tui_crm.services.sync import ConnectionOptions, SyncService

KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)
ENTITIES = ["account", "contact", "appointment", "task"]


@pytest.fixture
async def synced(tmp_path: Path) -> AsyncIterator[tuple[DataverseEmulator, SyncService]]:
    emulator = DataverseEmulator(records=30, seed=5)
    url = emulator.start()
    settings = Settings(profile=tmp_path / "profile", kdf=KDF)
    session: Session = await ProfileService(settings.profile, kdf=KDF).create("profile-pw")
    try:
        sync = SyncService(session, settings, page_size=7)
        await sync.connect(
            "dataverse",
            url,
            ConnectionOptions(auth="password", user="demo@example.com", password="demo"),
        )
        first = await sync.sync(ENTITIES)
        assert first["pulled"] > 0 and first["errors"] in (0, [], None)
        yield emulator, sync
    finally:
        await session.close()
        emulator.stop()


async def test_quiet_sync_is_one_request_per_entity(
    synced: tuple[DataverseEmulator, SyncService],
) -> None:
    emulator, sync = synced
    for name in ENTITIES:
        emulator.clear_request_log()
        summary = await sync.sync([name])
        log = emulator.request_log
        assert summary["requests"] == 1, (name, log)
        assert len(log) == 1 and log[0].startswith("GET ") and "$deltatoken=" in log[0], log
        assert summary["pulled"] == 0 and summary["pushed"] == 0
        assert summary["bytes_sent"] > 0 and summary["bytes_received"] > 0

    emulator.clear_request_log()
    together = await sync.sync(ENTITIES)
    assert together["requests"] == len(ENTITIES)
    assert sorted(line.split("?")[0] for line in emulator.request_log) == sorted(
        f"GET /api/data/v9.2/{plural}"
        for plural in ("accounts", "contacts", "appointments", "tasks")
    )
