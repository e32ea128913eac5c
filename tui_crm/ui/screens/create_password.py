"""First run, step 2: choose the password; the profile is created here (Argon2id off the loop)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Input, Label, Static

from tui_crm.domain import DomainError
from tui_crm.ui.password_hint import MIN_PASSWORD_LENGTH, password_problem, strength_hint
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.widgets.quiet import QuietInput


class CreatePasswordScreen(CrmScreen[None]):
    HELP = (
        "Type the password twice. It protects the key of the encrypted database and "
        "cannot be recovered if lost."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="password.back"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Choose a password[/b]", classes="dialog-title")
            yield Label(f"Password (at least {MIN_PASSWORD_LENGTH} characters)")
            yield QuietInput(password=True, id="first", compact=True)
            yield Label("Again")
            yield QuietInput(password=True, id="second", compact=True)
            yield Static("", id="strength")
            yield Static("", id="problem", classes="error")
            yield Static("", id="progress", classes="progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#first", Input).focus()

    @on(Input.Changed, "#first")
    def show_strength(self, event: Input.Changed) -> None:
        self.query_one("#strength", Static).update(strength_hint(event.value))

    @on(Input.Submitted, "#first")
    def next_field(self) -> None:
        self.query_one("#second", Input).focus()

    @on(Input.Submitted, "#second")
    def submit(self) -> None:
        first = self.query_one("#first", Input).value
        second = self.query_one("#second", Input).value
        problem = password_problem(first, second)
        self.query_one("#problem", Static).update(problem or "")
        if problem is None:
            self.create_profile(first)

    def action_back(self) -> None:
        from tui_crm.ui.screens.consent import ConsentScreen

        self.app.switch_screen(ConsentScreen())

    @work(exclusive=True, group="create-profile")
    async def create_profile(self, password: str) -> None:
        progress = self.query_one("#progress", Static)
        for field in self.query(Input):
            field.disabled = True
        progress.update("creating the encrypted profile…")
        try:
            session = await self.crm.profiles.create(password, offline=True)
        except DomainError as error:
            progress.update("")
            self.query_one("#problem", Static).update(str(error))
            for field in self.query(Input):
                field.disabled = False
            return
        from tui_crm.ui.screens.backend_choice import BackendChoiceScreen

        self.crm.session = session
        self.app.switch_screen(BackendChoiceScreen())
