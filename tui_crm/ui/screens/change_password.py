"""Change the profile password: the key is re-wrapped, the data is not rewritten."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from tui_crm.domain import DomainError, LockedOut, WrongPassword
from tui_crm.ui.password_hint import password_problem, strength_hint
from tui_crm.ui.screens.base import CrmModal
from tui_crm.ui.widgets.quiet import QuietInput


class ChangePasswordScreen(CrmModal[bool]):
    HELP = "Current password, then the new one twice. Escape cancels."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="passwd.cancel")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Change password[/b]", classes="dialog-title")
            yield Label("Current password")
            yield QuietInput(password=True, id="old", compact=True)
            yield Label("New password")
            yield QuietInput(password=True, id="new", compact=True)
            yield Label("New password again")
            yield QuietInput(password=True, id="again", compact=True)
            yield Static("", id="strength")
            yield Static("", id="problem", classes="error")
            yield Static("", id="progress", classes="progress")

    def on_mount(self) -> None:
        self.query_one("#old", Input).focus()

    @on(Input.Changed, "#new")
    def show_strength(self, event: Input.Changed) -> None:
        self.query_one("#strength", Static).update(strength_hint(event.value))

    @on(Input.Submitted, "#old")
    def to_new(self) -> None:
        self.query_one("#new", Input).focus()

    @on(Input.Submitted, "#new")
    def to_again(self) -> None:
        self.query_one("#again", Input).focus()

    @on(Input.Submitted, "#again")
    def submit(self) -> None:
        old = self.query_one("#old", Input).value
        new = self.query_one("#new", Input).value
        problem = password_problem(new, self.query_one("#again", Input).value)
        self.query_one("#problem", Static).update(problem or "")
        if problem is None:
            self.change(old, new)

    @work(exclusive=True, group="passwd")
    async def change(self, old: str, new: str) -> None:
        progress = self.query_one("#progress", Static)
        progress.update("changing password…")
        try:
            await self.crm.profiles.change_password(old, new)
        except (WrongPassword, LockedOut) as error:
            progress.update("")
            self.query_one("#problem", Static).update(str(error))
            self.query_one("#old", Input).focus()
            return
        except DomainError as error:
            progress.update("")
            self.query_one("#problem", Static).update(str(error))
            return
        self.notify("password changed")
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
