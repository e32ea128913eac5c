"""The offline/online switch of the app and the record service screens use in either mode.

Screens ask `records_for(app)` for their record service: it is the online
one (server first, store as cache and fallback) and behaves exactly like the
offline one while the mode is off. The switch persists the preference in the
config file; a fallback after the server went away does not, so the next
unlock tries online again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tui_crm.domain import DomainError
from tui_crm.services.online import OnlineRecords
from tui_crm.ui.settings_file import merge_into_config_file

if TYPE_CHECKING:
    from tui_crm.services.records import RecordService
    from tui_crm.ui.app import CrmApp

ONLINE_NOTE = "online: lists and forms read the server, saves go straight to it"
OFFLINE_NOTE = "offline: working on this device; sync sends the changes later"


def records_for(app: CrmApp) -> RecordService:
    session = app.session_or_raise()

    def fell_back(message: str) -> None:
        app.notify(message, severity="warning", timeout=8)

    return OnlineRecords(session, on_fallback=fell_back)


def toggle_online(app: CrmApp) -> None:
    if app.session is None:
        return
    app.run_worker(set_online(app, not app.session.sync.online), group="online-switch")


async def set_online(app: CrmApp, online: bool) -> bool:
    """Switch and remember; refuses online without a server to talk to. Returns the new mode."""
    session = app.session
    if session is None:
        return False
    if online:
        try:
            connected = await session.sync.is_connected()
        except DomainError as error:
            app.notify(str(error), severity="error")
            return session.sync.online
        if not connected:
            app.notify("not signed in to a server: Sync status (y), then i", severity="warning")
            return session.sync.online
    session.sync.online = online
    app.settings = app.settings.model_copy(update={"online": online})
    try:
        await asyncio.to_thread(merge_into_config_file, app.config_path, {"online": online})
    except OSError as error:
        app.notify(f"could not save the setting: {error.strerror}", severity="error")
    app.notify(ONLINE_NOTE if online else OFFLINE_NOTE)
    return online
