"""Auto-lock: idle time drops the key, unwinds to unlock, and keeps unsaved form input."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input

from tests.ui.conftest import FakeClock, create_profile, type_text, unlock, wait_until
from tui_crm.config import Settings
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.home import HomeScreen
from tui_crm.ui.screens.record_form import RecordFormScreen
from tui_crm.ui.screens.record_list import RecordListScreen
from tui_crm.ui.screens.unlock import UnlockScreen


async def test_idle_locks_and_unsaved_input_comes_back_after_unlock(
    make_app: Callable[..., CrmApp], settings: Settings, clock: FakeClock
) -> None:
    await create_profile(settings)
    app = make_app(auto_lock_minutes=10)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("1")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "form")
        await type_text(pilot, "Half typed")
        session = app.session
        assert session is not None

        clock.advance(9 * 60)
        await app.check_auto_lock()
        assert app.session is session, "not idle long enough yet"

        clock.advance(60)
        await app.check_auto_lock()
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "unlock screen")
        assert app.session is None
        assert session.closed, "locking must close the session and drop the key"
        assert not any(isinstance(s, RecordFormScreen) for s in app.screen_stack)

        await unlock_again(app, pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "form back")
        form = app.screen
        assert isinstance(form, RecordFormScreen)
        assert form.query_one("#field-name", Input).value == "Half typed"
        assert form.is_dirty(), "restored input is still unsaved"


async def unlock_again(app: CrmApp, pilot: object) -> None:
    from textual.pilot import Pilot

    from tests.ui.conftest import PASSWORD

    assert isinstance(pilot, Pilot)
    app.screen.query_one("#password", Input).focus()
    await type_text(pilot, PASSWORD)
    await pilot.press("enter")


async def test_activity_postpones_lock_and_zero_disables_it(
    make_app: Callable[..., CrmApp], settings: Settings, clock: FakeClock
) -> None:
    await create_profile(settings)
    app = make_app(auto_lock_minutes=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        clock.advance(50)
        await pilot.press("j")  # a keypress is activity
        clock.advance(50)
        await app.check_auto_lock()
        assert isinstance(app.screen, HomeScreen) and app.session is not None

        app.idle.minutes = 0
        clock.advance(24 * 3600)
        await app.check_auto_lock()
        assert app.session is not None


async def test_lock_without_unsaved_input_returns_to_home(
    make_app: Callable[..., CrmApp], settings: Settings, clock: FakeClock
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "locked")
        assert app.session is None
        await unlock_again(app, pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        assert app.pending_draft is None
