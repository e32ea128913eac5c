"""Keys: help lists bindings, the keymap remaps by id, the palette reaches everything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import DataTable

from tests.ui.conftest import create_profile, new_form, open_list, type_text, unlock, wait_until
from tui_crm.config import Settings
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.help import HelpScreen
from tui_crm.ui.screens.home import HomeScreen
from tui_crm.ui.screens.outbox import OutboxScreen
from tui_crm.ui.screens.record_form import RecordFormScreen
from tui_crm.ui.screens.record_list import RecordListScreen


def help_rows(app: CrmApp) -> dict[str, tuple[str, str]]:
    table = app.screen.query_one("#keys", DataTable)
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return {str(row[2]): (str(row[0]), str(row[1])) for row in rows}


async def test_help_lists_bindings_with_ids_and_remap_hint(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await open_list(pilot, app)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        rows = help_rows(app)
        assert rows["records.new"] == ("n", "New")
        assert rows["records.edit"] == ("e", "Edit")
        assert rows["records.search"][1] == "Search"
        assert "app.quit" in rows
        assert "home.outbox" not in rows, "help shows the current screen's keys only"
        ids = list(rows)
        first_app = next(n for n, i in enumerate(ids) if i.startswith("app."))
        assert all(i.startswith("records.") for i in ids[:first_app]), repr(ids)
        assert ids.index("records.new") < first_app, "the screen's own keys come first"
        assert ids[-1] == "", "built-in keys without an id come last"
        remap = str(app.screen.query_one("#remap").render())
        assert "[keymap]" in remap and "records.new" in remap
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "closed")


async def test_keymap_from_settings_remaps_by_binding_id(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app(keymap={"records.new": "a", "home.outbox": "x"})
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("o")  # no longer the outbox key
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen), "outbox on x")
        await pilot.press("escape", "1")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "list")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RecordListScreen), "'n' was remapped away"
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "new on a")


async def test_command_palette_opens_screens_and_actions(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
        await type_text(pilot, "outbox")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen), "outbox")

        names = {command.title for command in app.get_system_commands(app.screen)}
        for expected in ("Home", "Setup", "Nearby", "Sync status", "Lock now", "Open Accounts"):
            assert expected in names
        assert any(name.startswith("Back") for name in names), "screen actions are commands too"


async def test_optional_screens_say_not_available_when_absent(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    import importlib.util

    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        present = importlib.util.find_spec("tui_crm.ui.screens.sync_status") is not None
        await pilot.press("y")
        await pilot.pause(0.2)
        if present:
            assert type(app.screen).__name__ == "SyncStatusScreen"
        else:
            assert isinstance(app.screen, HomeScreen)
            messages = [n.message for n in app._notifications]
            assert any("not available yet" in m for m in messages)


async def test_palette_offers_no_screenshot_or_unpersisted_theme(
    make_app: Callable[..., CrmApp], settings: Settings, tmp_path: Path
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await open_list(pilot, app)
        names = {command.title for command in app.get_system_commands(app.screen)}
        assert "Quit" in names and "Help" in names
        assert not {"Screenshot", "Theme"} & names, names
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
        await type_text(pilot, "screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        app.action_screenshot(path=str(tmp_path))
        await pilot.pause(0.3)
    assert not list(tmp_path.rglob("*.svg")), "nothing wrote a screenshot"


async def test_in_a_text_field_question_mark_types_and_f1_opens_help(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    from textual.widgets import Input

    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await open_list(pilot, app)
        await new_form(pilot, app)
        field = app.screen.query_one("#field-name", Input)
        field.focus()
        await pilot.press("question_mark")
        assert field.value == "?", "a question mark is text in a text field"
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "help from a field")
        rows = help_rows(app)
        assert rows["app.help_in_field"] == ("f1", "Help"), "where ? is text, help says f1"
        assert "app.help" not in rows
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "closed")
        assert app.screen.query_one("#field-name", Input).value == "?", "the input is kept"


async def test_notifications_are_plain_text_from_any_caller(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    """A server's refusal or a record name with '[/x]' in it is shown, never parsed."""
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        app.screen.notify("refused: Smith [/x] & [b]Co", severity="error")  # markup=True default
        app.notify("also [/y] here", markup=True)
        await pilot.pause()
        sent = list(app._notifications)
        assert [n.message for n in sent][-2:] == ["refused: Smith [/x] & [b]Co", "also [/y] here"]
        assert not any(n.markup for n in sent), "every toast is plain text"
        assert app.is_running
