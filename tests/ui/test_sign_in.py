"""Device-code sign-in from the interface, approved or declined through the emulator's API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Input, Select, Static

from tests.ui.conftest import create_profile, type_text, unlock, wait_until
from tests.ui.emulated import DEMO_PASSWORD, DEMO_USER, emulator
from tui_crm.config import Settings
from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.ui.app import CrmApp
from tui_crm.ui.big_text import big_text
from tui_crm.ui.screens.sign_in import SignInScreen
from tui_crm.ui.screens.sync_status import SyncStatusScreen

__all__ = ["emulator"]


def shown(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_sign_in(pilot: Any, app: CrmApp) -> SignInScreen:
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(app.screen, SyncStatusScreen), "sync status")
    await pilot.press("i")
    await wait_until(pilot, lambda: isinstance(app.screen, SignInScreen), "sign-in screen")
    screen = app.screen
    assert isinstance(screen, SignInScreen)
    await pilot.pause()
    return screen


async def test_device_code_shown_large_then_approved_connects_the_profile(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        screen = await open_sign_in(pilot, app)
        assert app.session is not None and not await app.session.sync.is_connected()
        screen.query_one("#server-url", Input).value = emulator.url
        screen.query_one("#server-url", Input).focus()
        await pilot.press("enter")

        await wait_until(pilot, lambda: emulator.pending_user_codes() != [], "a device code")
        await wait_until(pilot, lambda: screen.shown_code != "", "the code on screen")
        [code] = emulator.pending_user_codes()
        assert screen.shown_code == code
        assert shown(screen, "#device-code-big").splitlines() == big_text(code)
        assert code in shown(screen, "#device-code-text")
        assert f"{emulator.url}/devicelogin" in shown(screen, "#device-url")
        assert not screen.query_one("#sign-in-form").display

        assert emulator.approve_device_code(code) == 1
        await wait_until(pilot, lambda: isinstance(app.screen, SyncStatusScreen), "signed in")
        assert await app.session.sync.is_connected()
        credentials = await app.session.settings.credentials()
        assert credentials["url"] == emulator.url and credentials["auth"] == "device"
        assert "account" in {e.name for e in app.entity_defs}
        status = app.screen
        await wait_until(pilot, lambda: emulator.url in shown(status, "#sync-title"), "title")


async def test_declined_code_says_so_and_stays_unconnected(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        screen = await open_sign_in(pilot, app)
        screen.query_one("#server-url", Input).value = emulator.url
        screen.query_one("#server-url", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.shown_code != "", "the code on screen")
        emulator.decline_device_code()
        await wait_until(
            pilot, lambda: "declined" in shown(screen, "#sign-in-status"), "the refusal"
        )
        assert isinstance(app.screen, SignInScreen)
        assert screen.query_one("#sign-in-form").display, "the form is back for another try"
        assert app.session is not None and not await app.session.sync.is_connected()


async def test_password_sign_in_and_wrong_password(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        screen = await open_sign_in(pilot, app)
        screen.query_one("#server-url", Input).value = emulator.url
        screen.query_one("#auth", Select).value = "password"
        await pilot.pause()
        assert all(row.display for row in screen.query(".password-row"))
        screen.query_one("#user", Input).value = DEMO_USER
        screen.query_one("#server-password", Input).focus()
        await type_text(pilot, "zq-not-it")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: "sign-in refused" in shown(screen, "#sign-in-status"), "refusal"
        )
        assert "zq-not-it" not in shown(screen, "#sign-in-status")
        assert screen.query_one("#server-password", Input).value == "", "not kept on screen"
        assert app.session is not None and not await app.session.sync.is_connected()

        await type_text(pilot, DEMO_PASSWORD)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncStatusScreen), "signed in")
        credentials = await app.session.settings.credentials()
        assert credentials["auth"] == "password" and credentials["user"] == DEMO_USER
        assert credentials.get("password") is None, "Save password was off"


async def test_no_address_is_one_clear_line(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        screen = await open_sign_in(pilot, app)
        await pilot.press("enter")
        await pilot.pause()
        assert shown(screen, "#sign-in-status") == "type the server address first"
        screen.query_one("#server-url", Input).value = "http://crm.example.com"
        screen.query_one("#server-url", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "http" in shown(screen, "#sign-in-status"), "refusal")
        assert isinstance(app.screen, SignInScreen)
