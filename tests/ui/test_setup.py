"""Setup: each toggle applies at once and survives a restart (config file or encrypted store)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, Select

from tests.ui.conftest import create_profile, type_text, unlock, wait_until
from tui_crm.config import Settings, load_settings
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.setup import SetupScreen


async def test_setup_changes_apply_and_persist(
    make_app: Callable[..., CrmApp], settings: Settings, private_config: Path
) -> None:
    await create_profile(settings)
    private_config.write_text('mouse = false\n[keymap]\n"records.new" = "n"\n', encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, SetupScreen), "setup")
        screen = app.screen

        assert app.settings.map_enabled is True
        screen.query_one("#map", Checkbox).focus()
        await pilot.press("space")
        await wait_until(pilot, lambda: not app.settings.map_enabled, "map off in the app")

        screen.query_one("#save-password", Checkbox).focus()
        await pilot.press("space")
        assert app.session is not None
        settings_service = app.session.settings
        await wait_until(pilot, lambda: screen.query_one("#save-password", Checkbox).value, "on")

        auto_lock = screen.query_one("#auto-lock", Input)
        auto_lock.focus()
        auto_lock.value = ""
        await type_text(pilot, "3")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.idle.minutes == 3, "auto-lock applied")

        screen.query_one("#theme", Select).value = "nord"
        await wait_until(pilot, lambda: app.theme == "nord", "theme applied")

        screen.query_one("#backend-url", Input).focus()
        await type_text(pilot, "https://org.example.com")
        await pilot.press("enter")

        async def stored_url() -> object:
            return (await settings_service.credentials()).get("url")

        for _ in range(200):
            if await stored_url() == "https://org.example.com":
                break
            await pilot.pause(0.02)
        assert await stored_url() == "https://org.example.com"
        for _ in range(200):
            if await settings_service.save_password():
                break
            await pilot.pause(0.02)
        assert await settings_service.save_password() is True
        await wait_until(
            pilot,
            lambda: "nord" in private_config.read_text(encoding="utf-8"),
            "theme written",
        )

    data = tomllib.loads(private_config.read_text(encoding="utf-8"))
    assert data["map_enabled"] is False
    assert data["auto_lock_minutes"] == 3
    assert data["theme"] == "nord"
    assert data["keymap"] == {"records.new": "n"}, "keys the user set by hand are kept"
    assert "profile" not in data, "the command-line profile must not be frozen into the file"
    assert "org.example.com" not in private_config.read_text(encoding="utf-8"), (
        "the backend address lives in the encrypted profile, not the config file"
    )

    reloaded = load_settings(profile=settings.profile, kdf=settings.kdf)
    assert reloaded.map_enabled is False
    assert reloaded.auto_lock_minutes == 3
    assert reloaded.theme == "nord"


async def test_opening_setup_in_16_colours_writes_nothing(
    make_app: Callable[..., CrmApp],
    settings: Settings,
    private_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Select's first Changed (the ANSI theme in use) is not a choice to persist."""
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        assert app.theme == "ansi-dark"
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, SetupScreen), "setup")
        await pilot.pause(0.3)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SetupScreen), "left setup")
        await pilot.pause(0.3)
        assert app.settings.theme == settings.theme
    assert not private_config.exists(), private_config.read_text(encoding="utf-8")


async def test_values_typed_without_enter_are_kept_on_escape(
    make_app: Callable[..., CrmApp], settings: Settings, private_config: Path
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, SetupScreen), "setup")
        screen = app.screen
        await pilot.pause(0.2)
        screen.query_one("#backend-url", Input).focus()
        await type_text(pilot, "https://org.example.com")
        screen.query_one("#backend-user", Input).focus()
        await type_text(pilot, "ann@example.com")
        auto_lock = screen.query_one("#auto-lock", Input)
        auto_lock.focus()
        await pilot.press("end", "backspace", "backspace")
        await type_text(pilot, "-5")
        await pilot.press("escape")  # invalid: the message shows, the screen and value stay
        await pilot.pause(0.3)
        assert app.screen is screen
        assert auto_lock.value == "-5"
        assert "0 or more" in str(screen.query_one("#setup-status").render())
        assert app.idle.minutes == 10
        await pilot.press("backspace", "backspace")
        await type_text(pilot, "7")
        await pilot.press("escape")  # no enter: applied on leaving
        await wait_until(pilot, lambda: not isinstance(app.screen, SetupScreen), "left setup")
        assert app.idle.minutes == 7
        assert app.session is not None
        credentials = await app.session.settings.credentials()
        assert credentials.get("url") == "https://org.example.com"
        assert credentials.get("user") == "ann@example.com"
    assert tomllib.loads(private_config.read_text(encoding="utf-8"))["auto_lock_minutes"] == 7
