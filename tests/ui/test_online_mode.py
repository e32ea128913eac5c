"""Online mode in the interface: the switch, lists read from the server, and the fall back
to offline (said on screen, edit kept) when the emulator is stopped."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from tests.ui.conftest import create_profile, type_text, unlock, wait_until
from tests.ui.emulated import connected_profile, emulator, tune_app_sync
from tui_crm.config import Settings
from tui_crm.domain import RecordState
from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.record_form import RecordFormScreen
from tui_crm.ui.screens.record_list import RecordListScreen
from tui_crm.ui.widgets.record_table import RecordTable

__all__ = ["emulator"]


def listed_names(app: CrmApp) -> list[str]:
    tables = app.screen.query("#records").results(RecordTable)
    table = next(iter(tables), None)
    if table is None:  # still mounting
        return []
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def notices(app: CrmApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_switch_refuses_without_a_server_and_persists_when_connected(
    make_app: Callable[..., CrmApp],
    settings: Settings,
    emulator: DataverseEmulator,
    private_config: Path,
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: any("not signed in" in n for n in notices(app)), "no")
        assert app.session is not None and not app.session.sync.online
        assert not private_config.exists() or "online" not in private_config.read_text()


async def test_switch_on_and_off_is_remembered(
    make_app: Callable[..., CrmApp],
    settings: Settings,
    emulator: DataverseEmulator,
    private_config: Path,
) -> None:
    await connected_profile(settings, emulator, synced=False)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        assert app.session is not None
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: app.session is not None and app.session.sync.online, "on")
        assert tomllib.loads(private_config.read_text())["online"] is True
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: not app.settings.online, "off")
        assert not app.session.sync.online
        assert tomllib.loads(private_config.read_text())["online"] is False


async def test_online_list_reads_the_server_and_a_stopped_server_falls_back_keeping_the_edit(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    record_id = emulator.records("account")[0]["accountid"]
    emulator.update("account", record_id, {"name": "Aaa renamed on the server"})
    app = make_app(online=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        sync = tune_app_sync(app)
        assert sync.online, "the online setting is applied at unlock"
        app.open_list("account")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "list")
        await wait_until(
            pilot,
            lambda: "Aaa renamed on the server" in listed_names(app),
            "the server's name without any sync",
        )
        assert listed_names(app)[0] == "Aaa renamed on the server"

        emulator.stop()
        await pilot.press("enter")  # the first row: the renamed account
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "form")
        form = app.screen
        assert isinstance(form, RecordFormScreen)
        await wait_until(pilot, lambda: any("offline" in n for n in notices(app)), "said so")
        assert not sync.online
        await pilot.press("e")
        await wait_until(pilot, lambda: form.mode == "edit", "edit mode")
        phone = form.query_one("#field-telephone1", Input)
        phone.focus()
        phone.value = ""
        await type_text(pilot, "+421 777 777")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "saved")
        session = app.session_or_raise()
        record = await session.records.get("account", record_id)
        assert record.fields["telephone1"] == "+421 777 777"
        assert record.state is RecordState.UPDATED
        assert [c.record_id for c in await session.records.outbox()] == [record_id]
