"""Fixtures for the location tests: no user config, a real encrypted profile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from geo_fixtures import LOW_KDF, geo_settings

from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's own config file; env overrides stay test-local."""
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "absent-config.toml"))


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Session]:
    service = ProfileService(tmp_path / "profile", kdf=LOW_KDF)
    opened = await service.create("correct horse")
    opened.nearby.configure(geo_settings(tmp_path))
    try:
        yield opened
    finally:
        await opened.close()
