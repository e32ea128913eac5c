"""First run: consent, password (twice, rules enforced), backend choice, then home."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, Static

from tests.ui.conftest import PASSWORD, type_text, wait_until
from tui_crm.config import Settings
from tui_crm.services.profile import ProfileService
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.backend_choice import BackendChoiceScreen
from tui_crm.ui.screens.consent import ConsentScreen
from tui_crm.ui.screens.create_password import CreatePasswordScreen
from tui_crm.ui.screens.home import HomeScreen


async def test_first_run_creates_profile_and_lands_on_home(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ConsentScreen), "consent")
        assert not ProfileService(settings.profile).exists()
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, CreatePasswordScreen), "password")

        # Too short, then mismatched: both refused with a reason, nothing created.
        await type_text(pilot, "short")
        await pilot.press("enter")
        await type_text(pilot, "short")
        await pilot.press("enter")
        problem = app.screen.query_one("#problem", Static)
        assert "at least 8" in str(problem.render())
        for field in app.screen.query(Input):
            field.value = ""
        app.screen.query_one("#first", Input).focus()
        await type_text(pilot, PASSWORD)
        await pilot.press("enter")
        await type_text(pilot, PASSWORD + "x")
        await pilot.press("enter")
        assert "differ" in str(problem.render())
        assert not ProfileService(settings.profile).exists()

        app.screen.query_one("#second", Input).value = ""
        app.screen.query_one("#second", Input).focus()
        await type_text(pilot, PASSWORD)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BackendChoiceScreen), "backend")
        assert ProfileService(settings.profile).exists()
        await pilot.press("down", "down", "down", "enter")  # "Offline only"
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        assert app.session is not None
        assert await app.session.settings.get("backend") == "offline"
        await wait_until(
            pilot, lambda: app.screen.query_one("#entities").row_count >= 9, "entity rows"
        )


async def test_declining_consent_quits_without_writing(
    make_app: Callable[..., CrmApp], settings: Settings, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ConsentScreen), "consent")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not settings.profile.exists() or not any(settings.profile.iterdir())
