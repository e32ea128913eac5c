"""SVG snapshots at 80x24 of Sync status (idle with history and conflicts, and mid-run),
the three-way merge, and sign-in (form and device code). Fixed data, no clock:
runs and conflicts are written with fixed times, progress steps are fed by hand,
and the device code is a fixed prompt (no server needed).

Update with `pytest tests/ui/test_sync_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.conftest import PASSWORD, FakeClock, create_profile_sync, unlock, wait_until
from tui_crm.config import Settings
from tui_crm.services.profile import ProfileService
from tui_crm.services.sync import DeviceCodePrompt, Progress
from tui_crm.store.database import Connection
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.merge import MergeScreen
from tui_crm.ui.screens.sign_in import SignInScreen
from tui_crm.ui.screens.sync_status import SyncStatusScreen
from tui_crm.ui.sync_board import SyncBoard

SnapCompare = Callable[..., bool]
FIXED_CONFIG = Path("/home/field/.config/tui-crm/config.toml")
RECORD_ID = "6f1c1a52-3f7e-4c47-9a1e-2f6c1b0d9e01"

RUNS = [
    (
        "2026-03-02T08:00:00Z",
        "2026-03-02T08:00:09Z",
        "done",
        {"pulled": 240, "pushed": 3, "conflicts": 0, "errors": 0},
    ),
    (
        "2026-03-02T12:30:00Z",
        "2026-03-02T12:30:02Z",
        "cancelled",
        {"pulled": 35, "pushed": 0, "conflicts": 0, "errors": 0},
    ),
    (
        "2026-03-02T17:45:00Z",
        "2026-03-02T17:45:04Z",
        "done",
        {"pulled": 12, "pushed": 2, "conflicts": 1, "errors": 1},
    ),
]
BASE = {
    "name": "Contoso Pharmaceuticals",
    "telephone1": "+1 425 555 0100",
    "address1_city": "Redmond",
    "emailaddress1": "info@contoso.example",
}
SERVER = {**BASE, "telephone1": "+1 425 555 0199", "emailaddress1": "sales@contoso.example"}
DEVICE = {**BASE, "telephone1": "+1 425 555 0142", "address1_city": "Bellevue"}


def seed_history(conn: Connection) -> None:
    for started, finished, status, summary in RUNS:
        conn.execute(
            "INSERT INTO sync_runs(started_at, finished_at, status, summary) VALUES (?, ?, ?, ?)",
            (started, finished, status, json.dumps(summary)),
        )
    conn.execute(
        "INSERT INTO conflicts(entity, record_id, kind, base, server, device, server_version,"
        " created_at) VALUES ('account', ?, 'update-update', ?, ?, ?, '42', ?)",
        (
            RECORD_ID,
            json.dumps(BASE),
            json.dumps(SERVER),
            json.dumps(DEVICE),
            "2026-03-02T17:45:03Z",
        ),
    )
    conn.execute(
        "INSERT INTO conflicts(entity, record_id, kind, base, server, device, server_version,"
        " created_at) VALUES ('contact', ?, 'update-delete', ?, NULL, ?, NULL, ?)",
        (
            "0b7e6c1d-2a3b-4c5d-8e9f-0a1b2c3d4e5f",
            json.dumps({"fullname": "Ana Novak"}),
            json.dumps({"fullname": "Ana Novak", "jobtitle": "Buyer"}),
            "2026-03-02T17:45:03Z",
        ),
    )


@pytest.fixture
def history(settings: Settings) -> Settings:
    create_profile_sync(settings)

    async def seed() -> None:
        session = await ProfileService(settings.profile, kdf=settings.kdf).unlock(PASSWORD)
        try:
            await session.write(seed_history)
        finally:
            await session.close()

    asyncio.run(seed())
    return settings


def snapshot_app(settings: Settings) -> CrmApp:
    return CrmApp(settings, clock=FakeClock(), config_path=FIXED_CONFIG)


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause(0.1)
    pilot.app.clear_notifications()
    await pilot.pause()


async def sync_status(pilot: Pilot[Any]) -> SyncStatusScreen:
    await unlock(pilot)
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SyncStatusScreen), "status")
    screen = pilot.app.screen
    assert isinstance(screen, SyncStatusScreen)
    await wait_until(
        pilot, lambda: "open" in str(screen.query_one("#conflicts-heading").render()), "loaded"
    )
    return screen


def test_sync_status_idle(snap_compare: SnapCompare, history: Settings) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await sync_status(pilot)
        await settle(pilot)

    assert snap_compare(snapshot_app(history), run_before=run, terminal_size=(80, 24))


def test_sync_status_mid_run(snap_compare: SnapCompare, history: Settings) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        screen = await sync_status(pilot)
        app = screen.crm
        counts = {"account": 40, "contact": 60}
        screen.board = SyncBoard.start(((e.name, e.plural_label) for e in app.entity_defs), counts)
        screen.running = True
        screen._fill_entities()
        for progress in (
            Progress("push", "account", 2, 2, 900, 1400, 0.8),
            Progress("pull", "account", 40, 4, 52000, 1400, 2.0),
            Progress("pull", "contact", 30, 6, 81000, 1400, 3.0),
        ):
            screen.on_progress(progress)
        await settle(pilot)
        screen.running = False  # nothing is really running: leave without cancelling

    assert snap_compare(snapshot_app(history), run_before=run, terminal_size=(80, 24))


def test_merge(snap_compare: SnapCompare, history: Settings) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await sync_status(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MergeScreen), "merge")
        await pilot.press("m")
        await settle(pilot)

    assert snap_compare(snapshot_app(history), run_before=run, terminal_size=(80, 24))


def test_merge_of_a_record_deleted_on_the_server(
    snap_compare: SnapCompare, history: Settings
) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await sync_status(pilot)
        await pilot.press("j", "enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MergeScreen), "merge")
        await settle(pilot)

    assert snap_compare(snapshot_app(history), run_before=run, terminal_size=(80, 24))


async def sign_in(pilot: Pilot[Any]) -> SignInScreen:
    await sync_status(pilot)
    await pilot.press("i")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SignInScreen), "sign in")
    screen = pilot.app.screen
    assert isinstance(screen, SignInScreen)
    return screen


def test_sign_in_form(snap_compare: SnapCompare, history: Settings) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await sign_in(pilot)
        await settle(pilot)

    assert snap_compare(snapshot_app(history), run_before=run, terminal_size=(80, 24))


def test_sign_in_device_code(snap_compare: SnapCompare, history: Settings) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        screen = await sign_in(pilot)
        screen.show_device_code(
            DeviceCodePrompt(
                user_code="QX7P2KLMW",
                verification_uri="https://microsoft.com/devicelogin",
                message="",
                device_code="not-shown",
                interval=5,
                expires_at=0,
            )
        )
        await settle(pilot)

    assert snap_compare(snapshot_app(history), run_before=run, terminal_size=(80, 24))
