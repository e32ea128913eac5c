"""Fixtures: real profiles on disk with cheap Argon2id, and a clock tests can move."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_support import CHEAP_KDF, PASSWORD, FakeClock

from tui_crm.services import ProfileService


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    return tmp_path / "profile"


@pytest.fixture
def profiles(profile_dir: Path, clock: FakeClock) -> ProfileService:
    return ProfileService(profile_dir, kdf=CHEAP_KDF, clock=clock)


@pytest.fixture
async def made(profiles: ProfileService, password: str) -> ProfileService:
    """A created-and-closed profile holding a few records."""
    session = await profiles.create(password)
    try:
        rows = [{"name": f"Account {i:03}", "description": "d" * 300} for i in range(300)]
        report = await session.records.import_rows("account", rows)
        assert report.created == 300
    finally:
        await session.close()
    return profiles
