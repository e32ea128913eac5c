"""SVG snapshots of every screen at 80x24, plus 16-colour and NO_COLOR variants of home and form.

Stored under <repo>/snapshots/test_snapshots/ (see conftest). Deterministic:
fixed seed data, a fake clock, no blinking cursor, no animation, a fixed
config path. Update with `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.conftest import (
    PASSWORD,
    FakeClock,
    create_profile_sync,
    type_text,
    unlock,
    wait_for_edit_form,
    wait_until,
)
from tui_crm.config import Settings
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.backend_choice import BackendChoiceScreen
from tui_crm.ui.screens.confirm import ConfirmScreen
from tui_crm.ui.screens.record_form import RecordFormScreen
from tui_crm.ui.screens.record_list import RecordListScreen
from tui_crm.ui.screens.unlock import UnlockScreen
from tui_crm.ui.widgets.record_table import RecordTable

SnapCompare = Callable[..., bool]
FIXED_CONFIG = Path("/home/field/.config/tui-crm/config.toml")

ACCOUNTS = [
    {
        "name": "Contoso Pharmaceuticals",
        "address1_city": "Redmond",
        "telephone1": "+1 425 555 0100",
        "emailaddress1": "info@contoso.example",
    },
    {
        "name": "Fabrikam Inc",
        "address1_city": "Oslo",
        "telephone1": "+47 22 55 01 00",
        "emailaddress1": "hello@fabrikam.example",
    },
    {"name": "Northwind Traders", "address1_city": "Bergen", "telephone1": "+47 55 55 0101"},
    {"name": "Adventure Works", "address1_city": "Trondheim"},
]


def snapshot_app(settings: Settings, **overrides: Any) -> CrmApp:
    chosen = settings.model_copy(update=overrides) if overrides else settings
    return CrmApp(chosen, clock=FakeClock(), config_path=FIXED_CONFIG)


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    create_profile_sync(settings, {"account": ACCOUNTS})
    return settings


async def open_accounts(pilot: Pilot[Any]) -> None:
    await unlock(pilot)
    await pilot.press("1")
    await wait_until(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, RecordListScreen)
            and pilot.app.screen.query_one("#records", RecordTable).row_count == len(ACCOUNTS)
        ),
        "account rows",
    )


async def open_new_form(pilot: Pilot[Any]) -> None:
    await open_accounts(pilot)
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, RecordFormScreen), "form")
    await type_text(pilot, "Tailspin Toys")


async def open_record(pilot: Pilot[Any]) -> None:
    await open_accounts(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, RecordFormScreen), "view")


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause(0.1)
    pilot.app.clear_notifications()
    await pilot.pause()


def steps(*actions: Callable[[Pilot[Any]], Awaitable[None]]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        for action in actions:
            await action(pilot)
        await settle(pilot)

    return run


def press(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)
        await pilot.pause(0.3)

    return run


# ----- first run ----------------------------------------------------------------


def test_consent(snap_compare: SnapCompare, settings: Settings) -> None:
    assert snap_compare(snapshot_app(settings), run_before=steps())


def test_create_password(snap_compare: SnapCompare, settings: Settings) -> None:
    async def typed(pilot: Pilot[Any]) -> None:
        await pilot.press("a")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#first")), "password")
        await type_text(pilot, "short")

    assert snap_compare(snapshot_app(settings), run_before=steps(typed))


def test_backend_choice(snap_compare: SnapCompare, settings: Settings) -> None:
    async def chosen_password(pilot: Pilot[Any]) -> None:
        await pilot.press("a")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#first")), "password")
        await type_text(pilot, PASSWORD)
        await pilot.press("enter")
        await type_text(pilot, PASSWORD)
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: isinstance(pilot.app.screen, BackendChoiceScreen), "backend choice"
        )

    assert snap_compare(snapshot_app(settings), run_before=steps(chosen_password))


# ----- unlock and home ------------------------------------------------------------


def test_unlock(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def shown(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#password")), "unlock")

    assert snap_compare(snapshot_app(seeded), run_before=steps(shown))


def test_unlock_wrong_password(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def wrong(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#password")), "unlock")
        await type_text(pilot, "nope nope")
        await pilot.press("enter")
        message = pilot.app.screen.query_one("#message")
        await wait_until(pilot, lambda: "wrong" in str(message.render()), "message")

    assert snap_compare(snapshot_app(seeded), run_before=steps(wrong))


def test_unlock_locked_after_inactivity(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def idle(pilot: Pilot[Any]) -> None:
        await unlock(pilot)
        app = cast(CrmApp, pilot.app)
        cast(FakeClock, app.clock).advance(seeded.auto_lock_minutes * 60 + 1)
        await app.check_auto_lock()
        await wait_until(pilot, lambda: isinstance(app.screen, UnlockScreen), "locked")

    assert snap_compare(snapshot_app(seeded), run_before=steps(idle))


def test_home(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(snapshot_app(seeded), run_before=steps(unlock))


def test_home_16_colours(
    snap_compare: SnapCompare, seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    assert snap_compare(snapshot_app(seeded), run_before=steps(unlock))


def test_home_no_color(
    snap_compare: SnapCompare, seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(snapshot_app(seeded), run_before=steps(unlock))


# ----- lists and forms ------------------------------------------------------------


def test_record_list(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_accounts, press("j")))


def test_record_list_search(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def search(pilot: Pilot[Any]) -> None:
        await pilot.press("slash")
        await type_text(pilot, "nor")
        table = pilot.app.screen.query_one("#records", RecordTable)
        await wait_until(pilot, lambda: table.row_count == 1, "one match")

    assert snap_compare(snapshot_app(seeded), run_before=steps(open_accounts, search))


def test_form_new(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_new_form))


def test_form_new_16_colours(
    snap_compare: SnapCompare, seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_new_form))


def test_form_new_no_color(
    snap_compare: SnapCompare, seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_new_form))


def test_form_validation_errors(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def invalid(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        screen.query_one("#field-name", Input).value = ""
        screen.query_one("#field-telephone1", Input).value = "+47 0100"
        screen.query_one("#field-emailaddress1", Input).value = "nobody"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: screen.query_one("#error-name").display, "errors")
        screen.query_one("#fields").scroll_home(animate=False)

    assert snap_compare(snapshot_app(seeded), run_before=steps(open_new_form, invalid))


def test_form_view(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_record))


async def open_edit_form(pilot: Pilot[Any]) -> None:
    await open_record(pilot)
    await pilot.press("e")
    await wait_for_edit_form(pilot, "edit mode")


def test_form_edit(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_edit_form))


def test_confirm_discard(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def discard(pilot: Pilot[Any]) -> None:
        await type_text(pilot, " AS")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirm")

    assert snap_compare(snapshot_app(seeded), run_before=steps(open_edit_form, discard))


def test_confirm_delete(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_record, press("d")))


def test_related(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(snapshot_app(seeded), run_before=steps(open_record, press("r")))


def test_lookup_picker(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def pick(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        screen.query_one("#field-parentaccountid").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#results")), "picker")
        results = pilot.app.screen.query_one("#results")
        await wait_until(pilot, lambda: results.option_count == len(ACCOUNTS), "results")

    assert snap_compare(snapshot_app(seeded), run_before=steps(open_new_form, pick))


def test_help(snap_compare: SnapCompare, seeded: Settings) -> None:
    assert snap_compare(
        snapshot_app(seeded), run_before=steps(open_accounts, press("question_mark"))
    )


# ----- outbox and setup ------------------------------------------------------------


def test_outbox(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def outbox(pilot: Pilot[Any]) -> None:
        await unlock(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: pilot.app.screen.query("#changes"), "outbox")
        table = pilot.app.screen.query_one("#changes")
        await wait_until(pilot, lambda: table.row_count == len(ACCOUNTS), "changes")

    assert snap_compare(snapshot_app(seeded), run_before=steps(outbox))


def test_setup(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def setup(pilot: Pilot[Any]) -> None:
        await unlock(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#map")), "setup")

    assert snap_compare(snapshot_app(seeded), run_before=steps(setup))


def test_change_password(snap_compare: SnapCompare, seeded: Settings) -> None:
    async def dialog(pilot: Pilot[Any]) -> None:
        await unlock(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#change-password")), "setup")
        pilot.app.screen.query_one("#change-password").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#again")), "dialog")

    assert snap_compare(snapshot_app(seeded), run_before=steps(dialog))
