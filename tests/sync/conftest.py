"""Fixtures: a Dataverse emulator on loopback and an encrypted profile connected to it.

Everything is real: the emulator serves HTTP on a free port in a thread of
the test process, the profile is a SQLCipher file in tmp_path (cheap
Argon2id), and the sync goes through the product's own HTTP client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tui_crm.config import KdfSettings, Settings, SyncFilter
from tui_crm.connectors.http import RetryPolicy
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session
from tui_crm.services.sync import ConnectionOptions, SyncService

try:
    from tui_crm.emulator.dataverse import emulator as emulator_module
except ImportError:  # the emulator is built alongside; until then these tests say so
    emulator_module = None  # type: ignore[assignment]

CHEAP_KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)
PROFILE_PASSWORD = "profile-password"
DEMO_USER = "demo@example.com"
DEMO_PASSWORD = "demo"


class Emu:
    """The few server-side moves the tests make, in one place over the emulator's Python API."""

    def __init__(self, emulator: Any) -> None:
        self.raw = emulator
        self.url: str = emulator.url

    def create(self, entity: str, fields: dict[str, Any]) -> str:
        return str(self.raw.create(entity, fields))

    def update(self, entity: str, record_id: str, fields: dict[str, Any]) -> None:
        self.raw.update(entity, record_id, fields)

    def delete(self, entity: str, record_id: str) -> None:
        self.raw.delete(entity, record_id)

    def get(self, entity: str, record_id: str) -> dict[str, Any] | None:
        row = self.raw.get(entity, record_id)
        return None if row is None else dict(row)

    def ids(self, entity: str) -> set[str]:
        key = f"{entity}id" if entity != "appointment" else "activityid"
        return {str(r[key]) for r in self.raw.records(entity)}

    def expire_tokens(self) -> None:
        self.raw.expire_access_tokens()

    def faults(self, rate: float, kinds: tuple[str, ...] | None = None) -> None:
        self.raw.set_fault_rate(rate, kinds)


@pytest.fixture
def emu() -> Iterator[Emu]:
    if emulator_module is None:
        pytest.skip(
            "the Dataverse emulator runner (tui_crm.emulator.dataverse.emulator) is missing"
        )
    emulator = emulator_module.DataverseEmulator(records=20, seed=7, stall_seconds=1.5)
    emulator.start()
    try:
        yield Emu(emulator)
    finally:
        emulator.stop()


def make_settings(tmp_path: Path, policies: dict[str, str] | None = None, **extra: Any) -> Settings:
    rules = {name: SyncFilter(policy=policy) for name, policy in (policies or {}).items()}  # type: ignore[arg-type]
    rules.update(extra.pop("filters", {}))
    return Settings(profile=tmp_path / "profile", kdf=CHEAP_KDF, sync=rules, **extra)


FAST_RETRIES = RetryPolicy(
    max_attempts=6, base_seconds=0.01, cap_seconds=0.05, max_retry_after_seconds=5
)


def sync_service(session: Session, settings: Settings) -> SyncService:
    return SyncService(session, settings, retry_policy=FAST_RETRIES, timeout=0.5, page_size=7)


@pytest.fixture
async def session(tmp_path: Path, emu: Emu) -> AsyncIterator[Session]:
    service = ProfileService(tmp_path / "profile", kdf=CHEAP_KDF)
    opened = await service.create(PROFILE_PASSWORD)
    try:
        yield opened
    finally:
        await opened.close()


async def connect(session: Session, settings: Settings, emu: Emu) -> SyncService:
    sync = sync_service(session, settings)
    await sync.connect(
        "dataverse",
        emu.url,
        ConnectionOptions(auth="password", user=DEMO_USER, password=DEMO_PASSWORD),
    )
    return sync
