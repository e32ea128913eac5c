"""Sync status from the interface against the real Dataverse emulator over loopback.

Sync with progress per entity, cancel and resume, the runs' history, and the
conflict list opening the three-way merge whose decision reaches the server.
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
from tui_crm.services.sync import Progress
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.merge import MergeScreen
from tui_crm.ui.screens.sync_status import SyncStatusScreen
from tui_crm.ui.sync_board import DONE

__all__ = ["emulator"]  # the fixture, re-exported for pytest


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def table_rows(screen: Any, selector: str) -> list[list[str]]:
    table = screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def open_sync_status(pilot: Any, app: CrmApp) -> SyncStatusScreen:
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(app.screen, SyncStatusScreen), "sync status")
    screen = app.screen
    assert isinstance(screen, SyncStatusScreen)
    await pilot.pause()
    return screen


def record_steps(screen: SyncStatusScreen) -> list[Progress]:
    """Every progress step the screen is given, on top of what it does with it."""
    steps: list[Progress] = []
    shown = screen.on_progress

    def spy(step: Progress) -> None:
        steps.append(step)
        shown(step)

    screen.on_progress = spy  # type: ignore[method-assign]
    return steps


async def test_sync_from_the_screen_fills_bars_and_history(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator, synced=False)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        tune_app_sync(app)
        screen = await open_sync_status(pilot, app)
        assert "never" in str(table_rows(screen, "#sync-history"))
        assert emulator.url in text_of(screen, "#sync-title")
        steps = record_steps(screen)

        await pilot.press("s")
        await wait_until(pilot, lambda: screen.board.outcome != "", "the run to finish")

        assert screen.board.outcome == "done"
        account_steps = [s.done for s in steps if s.entity == "account" and s.phase == "pull"]
        assert len(account_steps) >= 3, "20 accounts in pages of 7 arrive in several steps"
        assert account_steps == sorted(account_steps) and account_steps[-1] == 20
        line = screen.board.lines["account"]
        assert line.state == DONE and line.done == 20
        row = screen.query_one("#sync-entities", DataTable).get_row("account")
        assert row[1] == "█" * 20 and row[2].strip() == "20"
        totals = text_of(screen, "#sync-totals")
        assert totals.startswith("done") and f"Requests {screen.board.requests}" in totals
        assert screen.board.requests > 3
        await wait_until(
            pilot,
            lambda: "done" in str(table_rows(screen, "#sync-history")),
            "the run in the history",
        )
        session = app.session_or_raise()
        counts = await session.records.counts()
        assert counts["account"] == emulator.count("account")
        assert counts["contact"] == emulator.count("contact")


async def test_cancel_stops_after_a_page_and_the_next_run_completes(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator, synced=False)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        tune_app_sync(app)
        screen = await open_sync_status(pilot, app)
        steps = record_steps(screen)
        emulator.set_latency(150)

        await pilot.press("s")
        # A first pull's first step may only announce its length: wait for a page.
        await wait_until(pilot, lambda: any(s.done > 0 for s in steps), "the first page")
        await pilot.press("x")
        await wait_until(pilot, lambda: screen.board.outcome != "", "the run to stop")
        assert "cancelled" in screen.board.outcome
        session = app.session_or_raise()
        partial = (await session.records.counts()).get("account", 0)
        assert 0 < partial < 20, "pages before the cancel are kept, the rest is not fetched"
        await wait_until(
            pilot,
            lambda: "cancelled" in str(table_rows(screen, "#sync-history")),
            "the cancelled run in the history",
        )

        emulator.set_latency(0)
        await pilot.press("s")
        await wait_until(pilot, lambda: screen.board.outcome == "done", "the second run")
        counts = await session.records.counts()
        assert counts["account"] == 20 and counts["contact"] == 20
        history = table_rows(screen, "#sync-history")
        assert [r[2] for r in history[:2]] == ["done", "cancelled"]


async def make_conflict(settings: Settings, emulator: DataverseEmulator) -> str:
    """Both sides edit one account: phone (both), city (device only), e-mail (server only)."""

    async def edit(session: Session) -> str:
        page = await session.records.list("account", limit=1)
        record = page.records[0]
        await session.records.update(
            "account", record.id, {"telephone1": "+421 111 111", "address1_city": "Devicetown"}
        )
        return record.id

    record_id: str = await with_session(settings, edit)
    emulator.update(
        "account", record_id, {"telephone1": "+421 222 222", "emailaddress1": "srv@example.com"}
    )

    async def sync(session: Session) -> None:
        summary = await session.sync.sync()
        assert summary["conflicts"] == 1

    await with_session(settings, sync)
    return record_id


async def test_conflict_list_opens_the_merge_and_the_choice_reaches_the_server(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    record_id = await make_conflict(settings, emulator)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        tune_app_sync(app)
        screen = await open_sync_status(pilot, app)
        await wait_until(
            pilot, lambda: screen.query_one("#sync-conflicts", DataTable).row_count == 1, "list"
        )
        assert "both edited" in str(table_rows(screen, "#sync-conflicts"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MergeScreen), "merge screen")
        merge = app.screen
        assert isinstance(merge, MergeScreen)
        await pilot.pause()
        by_name = {f.name: f for f in merge.merge.fields}
        assert by_name["telephone1"].choice == "undecided"
        assert by_name["address1_city"].choice == "mine"
        assert by_name["emailaddress1"].choice == "server"

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MergeScreen), "an undecided field blocks saving"
        assert "Main Phone" in text_of(merge, "#merge-status") or "telephone1" in text_of(
            merge, "#merge-status"
        )

        table = merge.query_one("#merge-fields", DataTable)
        table.move_cursor(row=[f.name for f in merge.merge.fields].index("telephone1"))
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.query("#merge-value"), "edit dialog")
        edit_input = app.screen.query_one("#merge-value")
        edit_input.value = "+421 333 333"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MergeScreen), "back to merge")
        assert by_name["telephone1"].choice == "edited"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SyncStatusScreen), "resolved")
        await wait_until(
            pilot,
            lambda: "none open" in text_of(screen, "#conflicts-heading"),
            "no open conflict left",
        )

        session = app.session_or_raise()
        local = await session.records.get("account", record_id)
        assert local.fields["telephone1"] == "+421 333 333"
        assert local.fields["address1_city"] == "Devicetown"
        assert local.fields["emailaddress1"] == "srv@example.com"
        resolved = await session.sync.conflicts()
        assert [c.resolution for c in resolved] == ["merged"]

        await pilot.press("s")
        await wait_until(pilot, lambda: screen.board.outcome == "done", "the sync after merge")
    server = emulator.get("account", record_id)
    assert server is not None
    assert server["telephone1"] == "+421 333 333"
    assert server["address1_city"] == "Devicetown"
    assert server["emailaddress1"] == "srv@example.com"


async def test_take_server_and_take_mine_for_whole_records(
    make_app: Callable[..., CrmApp], settings: Settings, emulator: DataverseEmulator
) -> None:
    await connected_profile(settings, emulator)
    accounts = emulator.records("account")
    first, second = str(accounts[0]["accountid"]), str(accounts[1]["accountid"])

    async def edit(session: Session) -> None:
        for record_id in (first, second):
            await session.records.update("account", record_id, {"telephone1": "+421 111 111"})

    await with_session(settings, edit)
    for record_id in (first, second):
        emulator.update("account", record_id, {"telephone1": "+421 222 222"})

    async def sync(session: Session) -> None:
        assert (await session.sync.sync())["conflicts"] == 2

    await with_session(settings, sync)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        tune_app_sync(app)
        screen = await open_sync_status(pilot, app)
        table = screen.query_one("#sync-conflicts", DataTable)
        await wait_until(pilot, lambda: table.row_count == 2, "two conflicts")
        session = app.session_or_raise()
        conflicts = await session.sync.conflicts(open_only=True)
        by_record = {c.record_id: c.id for c in conflicts}

        for record_id, key in ((first, "S"), (second, "M")):
            table.move_cursor(row=table.get_row_index(str(by_record[record_id])))
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, MergeScreen), "merge")
            await pilot.press(key)
            await wait_until(pilot, lambda: isinstance(app.screen, SyncStatusScreen), "back")
            resolved = by_record[record_id]
            await wait_until(
                pilot,
                lambda resolved=resolved: resolved not in [int(str(k.value)) for k in table.rows],
                "resolved row gone",
            )

        kept = await session.records.get("account", first)
        assert kept.fields["telephone1"] == "+421 222 222"
        await pilot.press("a")  # resolved ones stay visible as a log
        await wait_until(pilot, lambda: table.row_count == 2, "the log")
        assert "✓ server" in str(table_rows(screen, "#sync-conflicts"))
        await pilot.press("s")
        await wait_until(pilot, lambda: screen.board.outcome == "done", "sync")
    server_first, server_second = emulator.get("account", first), emulator.get("account", second)
    assert server_first is not None and server_first["telephone1"] == "+421 222 222"
    assert server_second is not None and server_second["telephone1"] == "+421 111 111"
