"""The app's one exception to "an error in a worker ends the app": a widget lookup in a
worker whose screen has closed (the app quitting or locking while a load was awaited)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.css.query import NoMatches
from textual.widgets import Static
from textual.worker import Worker, WorkerFailed, active_worker

from tests.ui.conftest import create_profile, unlock, wait_until
from tui_crm.config import Settings
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.screens.home import HomeScreen


class Loader(CrmScreen[None]):
    def compose(self) -> object:
        yield Static("loading", id="here")


async def _nothing() -> None:
    return None


def fail_in_worker_of(app: CrmApp, node: CrmScreen[None], error: Exception) -> None:
    """Report `error` as Textual does for a failed worker running on `node`."""
    worker: Worker[None] = Worker(node, _nothing, name="load")
    token = active_worker.set(worker)
    try:
        app._handle_exception(WorkerFailed(error))
    finally:
        active_worker.reset(token)


async def test_a_lookup_after_the_screen_closed_does_not_end_the_app(
    settings: Settings, make_app: Callable[..., CrmApp]
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        closed = Loader()
        await app.push_screen(closed)
        await pilot.pause()
        app.pop_screen()
        await wait_until(pilot, lambda: not closed.is_running, "the screen closed")
        fail_in_worker_of(app, closed, NoMatches("No nodes match '#here'"))
        await pilot.pause()
        assert app._exception is None and app.is_running
        assert isinstance(app.screen, HomeScreen)


@pytest.mark.parametrize(
    ("error", "on_closed"), [(NoMatches("gone"), False), (ValueError("a bug"), True)]
)
async def test_other_worker_failures_still_end_the_app(
    settings: Settings, make_app: Callable[..., CrmApp], error: Exception, on_closed: bool
) -> None:
    """A lookup failing on a screen still shown is a bug, and so is any other error."""
    await create_profile(settings)
    app = make_app()
    with pytest.raises(WorkerFailed) as raised:
        async with app.run_test(size=(80, 24)) as pilot:
            await unlock(pilot)
            screen = Loader()
            await app.push_screen(screen)
            await pilot.pause()
            if on_closed:
                app.pop_screen()
                await wait_until(pilot, lambda: not screen.is_running, "the screen closed")
            fail_in_worker_of(app, screen, error)
            await pilot.pause()
    assert raised.value.error is error
    assert app.return_code == 1
