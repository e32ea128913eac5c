"""A change the server refuses is shown in the interface, not hidden behind "done".

Real emulator over loopback: a contact made offline points at an account that
was deleted on the server, so its create is refused (404 on the binding)
while the sync itself completes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import DataTable, Static

from tests.ui.conftest import unlock, wait_until
from tests.ui.emulated import connected_profile, emulator, tune_app_sync, with_session
from tui_crm.config import Settings
from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.services.session import Session
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.outbox import OutboxScreen
from tui_crm.ui.screens.sync_status import SyncStatusScreen

__all__ = ["emulator"]


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_sync_says_a_change_was_refused_and_the_outbox_shows_why(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    doomed = sorted(r["accountid"] for r in emulator.records("account"))[0]

    async def orphan(session: Session) -> str:
        made = await session.records.create(
            "contact",
            {"lastname": "Orphan", "parentcustomerid": {"entity": "account", "id": doomed}},
        )
        await session.records.create("task", {"subject": "goes through"})
        return made.id

    contact_id = await with_session(settings, orphan)
    emulator.delete("account", doomed)

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        tune_app_sync(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncStatusScreen), "sync status")
        status = app.screen
        assert isinstance(status, SyncStatusScreen)
        await pilot.press("s")
        await wait_until(pilot, lambda: status.board.outcome != "", "the run to finish")
        assert status.board.outcome == "done, 1 refused (see Outbox)"
        assert text_of(status, "#sync-totals").startswith("done, 1 refused (see Outbox)")
        assert "Errors 1" in text_of(status, "#sync-totals")

        await pilot.press("escape")
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, OutboxScreen), "the outbox")
        outbox = app.screen
        table = outbox.query_one("#changes", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, "the refused change listed")
        assert str(table.get_row_at(0)[0]).startswith("!")
        assert "1 with a problem" in text_of(outbox, "#title")
        problem = text_of(outbox, "#change-problem")
        assert problem.startswith("Not sent: ") and doomed in problem
    assert emulator.get("contact", contact_id) is None
    assert [r["subject"] for r in emulator.records("task")].count("goes through") == 1
