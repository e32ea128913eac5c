"""Unlock with a wrong password, then the right one; the vault's lockout is shown, not hidden."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, Static

from tests.ui.conftest import (
    PASSWORD,
    FakeClock,
    create_profile,
    type_text,
    unlock,
    wait_until,
)
from tui_crm.config import Settings
from tui_crm.services.profile import ProfileService
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.home import HomeScreen
from tui_crm.ui.screens.unlock import UnlockScreen


def message(app: CrmApp) -> str:
    return str(app.screen.query_one("#message", Static).render())


async def submit_password(app: CrmApp, pilot: object, password: str) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    field = app.screen.query_one("#password", Input)
    await wait_until(pilot, lambda: not field.disabled, "password field enabled")
    field.focus()
    await type_text(pilot, password)
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


async def test_lockout_counts_down_and_refuses_tries(
    settings: Settings, clock: FakeClock, private_config: Path
) -> None:
    await create_profile(settings)
    # The vault's clock stands still, so its delay cannot run out during the test.
    frozen = ProfileService(settings.profile, kdf=settings.kdf, clock=clock)
    app = CrmApp(settings, profiles=frozen, clock=clock, config_path=private_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "unlock screen")
        for attempt in range(6):
            await submit_password(app, pilot, f"wrong guess {attempt}")
            await wait_until(
                pilot,
                lambda: "wrong" in message(app) or "attempts" in message(app),
                "failure message",
            )
            if "try again in" in message(app):
                break
        assert "try again in" in message(app)
        # While the countdown runs, even the right password is not sent to the vault.
        await submit_password(app, pilot, PASSWORD)
        await wait_until(pilot, lambda: "attempts" in message(app), "locked-out message")
        assert isinstance(app.screen, UnlockScreen)
        assert app.session is None


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
