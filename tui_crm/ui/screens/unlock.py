"""Unlock: the password opens the key; wrong tries show the vault's lockout countdown.

The countdown reads the app's clock (`CrmApp.clock`), so tests move time
instead of sleeping; the one-second timer only repaints it.
"""

from __future__ import annotations

import math

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from tui_crm.domain import DomainError, LockedOut, WrongPassword
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.widgets.quiet import QuietInput


class UnlockScreen(CrmScreen[None]):
    HELP = (
        "Type the profile password and press enter. After several wrong tries the "
        "vault makes you wait before the next one."
    )

    def __init__(self, *, locked: bool = False, hint: str = "") -> None:
        super().__init__()
        self._locked = locked
        self._hint = hint
        self._retry_deadline = 0.0
        self._countdown: Timer | None = None
        self._last_error = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]tui-crm is locked[/b]", classes="dialog-title")
            if self._locked:
                yield Static("Locked after inactivity. Unsaved input is kept.", id="why")
            yield Static("Password")
            yield QuietInput(password=True, id="password", compact=True)
            if self._hint:
                yield Static(self._hint, id="hint", markup=False)
            yield Static("", id="message", classes="error")
            yield Static("", id="progress", classes="progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()
        self.check_lockout()

    @work(exclusive=True, group="lockout")
    async def check_lockout(self) -> None:
        remaining = await self.crm.profiles.lockout_remaining()
        if remaining > 0:
            self._start_countdown("too many failed attempts", remaining)

    @on(Input.Submitted, "#password")
    def submit(self, event: Input.Submitted) -> None:
        if not event.value:
            return
        if self._waiting():
            # Not sent to the vault (it would refuse and Argon2id would run for nothing);
            # say why instead of silently ignoring enter.
            event.input.value = ""
            self._last_error = "too many failed attempts"
            self.refresh_countdown()
            return
        self.unlock(event.value)

    @work(exclusive=True, group="unlock")
    async def unlock(self, password: str) -> None:
        field = self.query_one("#password", Input)
        progress = self.query_one("#progress", Static)
        field.disabled = True
        self.query_one("#message", Static).update("")
        progress.update("unlocking…")
        try:
            session = await self.crm.profiles.unlock(password)
        except WrongPassword as error:
            self._failed(str(error), error.retry_after)
            return
        except LockedOut as error:
            self._failed("too many failed attempts", error.retry_after)
            return
        except DomainError as error:
            self._failed(str(error), 0.0)
            return
        finally:
            progress.update("")
        self.crm.hand_over(session)

    def _failed(self, message: str, retry_after: float) -> None:
        field = self.query_one("#password", Input)
        field.value = ""
        field.disabled = False
        field.focus()
        if retry_after > 0:
            self._start_countdown(message, retry_after)
        else:
            self.query_one("#message", Static).update(message)

    def _waiting(self) -> bool:
        return self.crm.clock() < self._retry_deadline

    def _start_countdown(self, message: str, seconds: float) -> None:
        self._last_error = message
        self._retry_deadline = self.crm.clock() + seconds
        if self._countdown is not None:
            self._countdown.stop()
        self._countdown = self.set_interval(1.0, self.refresh_countdown)
        self.refresh_countdown()

    def refresh_countdown(self) -> None:
        """Repaint the remaining wait (whole seconds, rounded up) or drop it when over."""
        remaining = self._retry_deadline - self.crm.clock()
        message = self.query_one("#message", Static)
        if remaining <= 0:
            message.update(self._last_error)
            if self._countdown is not None:
                self._countdown.stop()
                self._countdown = None
            return
        message.update(f"{self._last_error} — try again in {math.ceil(remaining)} s")
