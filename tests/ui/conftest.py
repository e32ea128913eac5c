"""Shared fixtures for the interface tests: a real profile in tmp_path, cheap Argon2id.

Snapshots land in the top-level `snapshots/` folder (see `snapshot` below).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy import SnapshotAssertion
from syrupy.location import PyTestLocation
from textual.pilot import Pilot

from tui_crm.config import KdfSettings, Settings
from tui_crm.services.profile import ProfileService
from tui_crm.ui.app import CrmApp

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_ROOT = ROOT / "snapshots"
PASSWORD = "sesame 42"
CHEAP_KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)


class FakeClock:
    """Time that moves only when a test says so: auto-lock is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RootSnapshotsExtension(SVGImageExtension):
    """pytest-textual-snapshot's SVG files, kept under <repo>/snapshots/<test module>/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOT_ROOT / Path(test_location.filepath).stem)


class RootSnapshotAssertion(SnapshotAssertion):
    def use_extension(self, extension_class: Any = None) -> SnapshotAssertion:
        return super().use_extension(RootSnapshotsExtension)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return RootSnapshotAssertion(
        update_snapshots=snapshot.update_snapshots,
        extension_class=RootSnapshotsExtension,
        test_location=snapshot.test_location,
        session=snapshot.session,
    )


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Never read or write the real user's config; no colour settings leak between tests."""
    path = tmp_path / "config.toml"
    monkeypatch.setenv("TUI_CRM_CONFIG", str(path))
    for name in ("NO_COLOR", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(name, raising=False)
    yield path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(profile=tmp_path / "profile", kdf=CHEAP_KDF)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_app(settings: Settings, clock: FakeClock, private_config: Path) -> Callable[..., CrmApp]:
    def build(**overrides: Any) -> CrmApp:
        chosen = settings.model_copy(update=overrides) if overrides else settings
        return CrmApp(chosen, clock=clock, config_path=private_config)

    return build


async def create_profile(
    settings: Settings, records: dict[str, list[dict[str, Any]]] | None = None
) -> None:
    """Make a profile through the services (what `tui-crm init` does), optionally seeded."""
    session = await ProfileService(settings.profile, kdf=settings.kdf).create(PASSWORD)
    try:
        for entity, rows in (records or {}).items():
            for values in rows:
                await session.records.create(entity, values)
    finally:
        await session.close()


def create_profile_sync(
    settings: Settings, records: dict[str, list[dict[str, Any]]] | None = None
) -> None:
    asyncio.run(create_profile(settings, records))


async def open_list(pilot: Pilot[Any], app: CrmApp, entity: str = "account") -> None:
    """From Home: the entity's key (1, 2, …), then wait for its list."""
    from tui_crm.ui.screens.record_list import RecordListScreen

    key = str(1 + [e.name for e in app.entity_defs].index(entity))
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), f"{entity} list")


async def new_form(pilot: Pilot[Any], app: CrmApp) -> Any:
    """From a list: `n`, then the new-record form once it is shown."""
    from tui_crm.ui.screens.record_form import RecordFormScreen

    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "new form")
    form = app.screen
    assert isinstance(form, RecordFormScreen)
    return form


async def wait_for_edit_form(pilot: Pilot[Any], what: str = "edit form") -> Any:
    """After the keys that open a form in edit mode: that form, once it is shown."""
    from tui_crm.ui.screens.record_form import RecordFormScreen

    app = pilot.app
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, RecordFormScreen) and app.screen.mode == "edit",
        what,
    )
    form = app.screen
    assert isinstance(form, RecordFormScreen)
    return form


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], what: str, timeout: float = 15.0
) -> None:
    """Poll the app (bounded) until `condition` holds; fail naming what never happened."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await pilot.pause(0.02)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type like a person: one key per character."""
    names = {" ": "space", "-": "minus", ".": "full_stop", "@": "at", ":": "colon"}
    await pilot.press(*(names.get(char, char) for char in text))


async def unlock(pilot: Pilot[Any], password: str = PASSWORD) -> None:
    from tui_crm.ui.screens.home import HomeScreen

    await wait_until(pilot, lambda: pilot.app.screen.query("#password"), "unlock screen")
    await type_text(pilot, password)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen), "home screen")
    await pilot.pause()
