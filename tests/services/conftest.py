"""Fixtures: real SQLCipher profiles in tmp_path with cheap Argon2id parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tui_crm.config import KdfSettings
from tui_crm.services import ProfileService, Session

CHEAP_KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    return tmp_path / "profile"


@pytest.fixture
def profiles(profile_dir: Path) -> ProfileService:
    return ProfileService(profile_dir, kdf=CHEAP_KDF)


@pytest.fixture
async def session(profiles: ProfileService) -> AsyncIterator[Session]:
    opened = await profiles.create(PASSWORD)
    try:
        yield opened
    finally:
        await opened.close()
