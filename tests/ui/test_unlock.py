"""Unlock with a wrong password, then the right one; the vault's lockout is shown, not hidden."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from tests.ui.conftest import (
    PASSWORD,
    FakeClock,
    create_profile,
    type_text,
    unlock,
    wait_until,
)
from tui_crm.config import Settings
from tui_crm.domain import WrongPassword
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.home import HomeScreen
from tui_crm.ui.screens.unlock import UnlockScreen


def message(app: CrmApp) -> str:
    return str(app.screen.query_one("#message", Static).render())


async def submit_password(app: CrmApp, pilot: object, password: str, *, typed: bool = True) -> None:
    """Enter a password; `typed=False` pastes it in one go (many tries, same path on enter)."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    field = app.screen.query_one("#password", Input)
    await wait_until(pilot, lambda: not field.disabled, "password field enabled")
    field.focus()
    if typed:
        await type_text(pilot, password)
    else:
        field.value = password
    await pilot.press("enter")


async def test_wrong_then_right_password(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "unlock screen")
        await submit_password(app, pilot, "not the password")
        await wait_until(pilot, lambda: "wrong password" in message(app), "wrong-password message")
        assert isinstance(app.screen, UnlockScreen)
        assert app.session is None
        field = app.screen.query_one("#password", Input)
        assert field.value == "", "a failed password must not stay in the field"
        await submit_password(app, pilot, PASSWORD)
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        assert app.session is not None


def lockout_failures(settings: Settings) -> int:
    """The vault's persisted failure count: proves whether a try reached the vault."""
    path = settings.profile / "lockout.json"
    return int(json.loads(path.read_text())["failures"]) if path.exists() else 0


async def test_lockout_counts_down_and_refuses_tries(
    settings: Settings, clock: FakeClock, private_config: Path
) -> None:
    """One fake clock drives the vault's delay and the screen's countdown: no sleeping."""
    await create_profile(settings)
    profiles = ProfileService(settings.profile, kdf=settings.kdf, clock=clock)
    app = CrmApp(settings, profiles=profiles, clock=clock, config_path=private_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "unlock screen")
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        for attempt in range(1, 6):
            await submit_password(app, pilot, f"wrong guess {attempt}", typed=False)
            await wait_until(
                pilot, lambda n=attempt: lockout_failures(settings) == n, f"failure {attempt}"
            )
            await wait_until(pilot, lambda: "wrong password" in message(app), "message")
        # The fifth failure owes 1 s.
        await wait_until(pilot, lambda: "try again in 1 s" in message(app), "countdown")
        clock.advance(1.0)
        screen.refresh_countdown()
        assert message(app) == "wrong password", "the countdown ends when the clock says so"

        # Sixth failure: 2 s owed, counted down by the clock, not by wall time.
        await submit_password(app, pilot, "wrong guess 5", typed=False)
        await wait_until(pilot, lambda: "try again in 2 s" in message(app), "2 s countdown")
        assert lockout_failures(settings) == 6
        clock.advance(0.5)
        screen.refresh_countdown()
        assert "try again in 2 s" in message(app), "partial seconds round up"
        clock.advance(0.6)
        screen.refresh_countdown()
        assert "try again in 1 s" in message(app)

        # While it runs, even the right password is not sent to the vault.
        await submit_password(app, pilot, PASSWORD, typed=False)
        await wait_until(pilot, lambda: "too many failed attempts" in message(app), "refused")
        assert "try again in 1 s" in message(app)
        assert app.screen.query_one("#password", Input).value == ""
        assert lockout_failures(settings) == 6, "the refused try never reached the vault"
        assert isinstance(app.screen, UnlockScreen) and app.session is None

        clock.advance(1.0)
        screen.refresh_countdown()
        assert "try again" not in message(app)
        await submit_password(app, pilot, PASSWORD, typed=False)
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        assert lockout_failures(settings) == 0, "success clears the count"


async def test_restart_during_lockout_shows_the_countdown(
    settings: Settings, clock: FakeClock, private_config: Path
) -> None:
    """Quitting does not reset the delay: a new app asks the vault and counts down at once."""
    await create_profile(settings)
    profiles = ProfileService(settings.profile, kdf=settings.kdf, clock=clock)
    for attempt in range(7):  # 7 failures owe 4 s
        with pytest.raises(WrongPassword):
            await profiles.unlock(f"wrong guess {attempt}")
        if attempt < 6:
            clock.advance(300.0)  # wait out each delay, as a patient guesser would
    clock.advance(1.0)
    app = CrmApp(settings, profiles=profiles, clock=clock, config_path=private_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "try again in 3 s" in message(app), "countdown")
        assert "too many failed attempts" in message(app)
        await submit_password(app, pilot, PASSWORD, typed=False)
        await pilot.pause()
        assert app.session is None and isinstance(app.screen, UnlockScreen)
        assert lockout_failures(settings) == 7


async def test_unlock_screen_survives_damaged_key_file(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    key_file = settings.profile / "profile.key"
    data = bytearray(key_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    key_file.write_bytes(bytes(data))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "unlock screen")
        await submit_password(app, pilot, PASSWORD)
        await wait_until(pilot, lambda: message(app) != "", "an error line")
        assert "damaged" in message(app) or "wrong" in message(app)
        assert app.session is None
        assert isinstance(app.screen, UnlockScreen)


async def test_unlock_helper_reaches_home(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        assert isinstance(app.screen, HomeScreen)


class HeldProfiles(ProfileService):
    """The real service; its unlock waits for the test's word, so the screen in between shows."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.go = asyncio.Event()

    async def unlock(self, password: str) -> Session:
        await self.go.wait()
        return await super().unlock(password)


async def test_unlocking_shows_its_state_and_the_kdf_runs_off_the_loop(
    settings: Settings, clock: FakeClock, private_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_crm.store import keyfile

    await create_profile(settings)
    derive = keyfile.derive_kek
    threads: list[int] = []

    def watched(*args: Any, **kwargs: Any) -> bytearray:
        threads.append(threading.get_ident())
        return derive(*args, **kwargs)

    monkeypatch.setattr(keyfile, "derive_kek", watched)
    profiles = HeldProfiles(settings.profile, kdf=settings.kdf, clock=clock)
    app = CrmApp(settings, profiles=profiles, clock=clock, config_path=private_config)
    async with app.run_test(size=(80, 24)) as pilot:
        loop_thread = threading.get_ident()
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "unlock screen")
        await submit_password(app, pilot, PASSWORD, typed=False)
        progress = app.screen.query_one("#progress", Static)
        await wait_until(pilot, lambda: "unlocking" in str(progress.render()), "unlocking state")
        assert app.screen.query_one("#password", Input).disabled, "no second try meanwhile"
        profiles.go.set()
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        assert threads and loop_thread not in threads, "Argon2id ran on the event loop"
        table = app.screen.query_one("#entities", DataTable)
        await wait_until(pilot, lambda: table.row_count > 0, "home loaded")
