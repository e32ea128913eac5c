"""Sign in to the CRM server: address and user, then the device code (or a password).

Over SSH the device-code flow is the natural one: the code is drawn in large
block letters so it can be read from the screen while typing it on a phone,
and the sign-in service polls the server in a worker until it is approved,
declined or expired. The password grant is offered for servers that allow it.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Select, Static, Switch

from tui_crm.domain import DomainError
from tui_crm.services.sync import ConnectionOptions, DeviceCodePrompt
from tui_crm.ui.big_text import big_text
from tui_crm.ui.screens.base import CrmScreen
from tui_crm.ui.widgets.quiet import QuietInput

AUTH_CHOICES = [("Device code (another device)", "device"), ("Password", "password")]


class SignInScreen(CrmScreen[bool]):
    HELP = (
        "Type the server address (and the user for password sign-in), then press "
        "enter or Sign in. With a device code, open the address shown on any device "
        "and type the code; this screen waits for the approval. escape stops waiting."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="sign_in.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.waiting = False
        self.shown_code = ""

    def compose(self) -> ComposeResult:
        yield Static("[b]Sign in[/b] · Dataverse", classes="screen-title")
        with VerticalScroll(id="sign-in"):
            with Vertical(id="sign-in-form"):
                with Horizontal(classes="setup-row"):
                    yield Label("Server URL")
                    yield QuietInput(
                        placeholder="https://org.crm.dynamics.com", id="server-url", compact=True
                    )
                with Horizontal(classes="setup-row"):
                    yield Label("Sign-in")
                    yield Select(
                        AUTH_CHOICES, value="device", allow_blank=False, id="auth", compact=True
                    )
                with Horizontal(classes="setup-row"):
                    yield Label("User")
                    yield QuietInput(placeholder="name@example.com", id="user", compact=True)
                with Horizontal(classes="setup-row password-row"):
                    yield Label("Password")
                    yield QuietInput(password=True, id="server-password", compact=True)
                with Horizontal(classes="setup-row password-row"):
                    yield Label("Save password")
                    yield Switch(False, id="save-password")
                yield Button("Sign in", id="sign-in-button", compact=True)
            with Vertical(id="device-code"):
                yield Static("", id="device-intro")
                yield Static("", id="device-code-big")
                yield Static("", id="device-code-text")
                yield Static("", id="device-url")
            yield Static("", id="sign-in-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#device-code").display = False
        self._show_password_rows(False)
        self.query_one("#server-url", Input).focus()
        self.prefill()

    @work(exclusive=True, group="sign-in-prefill")
    async def prefill(self) -> None:
        """The address and user typed in Setup or a previous sign-in (kept encrypted)."""
        try:
            credentials = await self.crm.session_or_raise().settings.credentials()
        except DomainError:
            return
        url_input = self.query_one("#server-url", Input)
        user_input = self.query_one("#user", Input)
        if not url_input.value and credentials.get("url"):
            url_input.value = str(credentials["url"])
        if not user_input.value and credentials.get("user"):
            user_input.value = str(credentials["user"])

    def _show_password_rows(self, shown: bool) -> None:
        for row in self.query(".password-row"):
            row.display = shown

    @on(Select.Changed, "#auth")
    def auth_changed(self, event: Select.Changed) -> None:
        self._show_password_rows(event.value == "password")

    @on(Input.Submitted)
    @on(Button.Pressed, "#sign-in-button")
    def submit(self) -> None:
        if self.waiting:
            return
        url = self.query_one("#server-url", Input).value.strip()
        if not url:
            self._status("type the server address first")
            self.query_one("#server-url", Input).focus()
            return
        auth = str(self.query_one("#auth", Select).value)
        user = self.query_one("#user", Input).value.strip() or None
        password = self.query_one("#server-password", Input).value
        if auth == "password" and (not user or not password):
            self._status("password sign-in needs the user and the password")
            return
        options = ConnectionOptions(
            auth=auth,
            user=user,
            password=password if auth == "password" else None,
            save_password=auth == "password" and self.query_one("#save-password", Switch).value,
        )
        self.query_one("#server-password", Input).value = ""
        self.sign_in(url, options)

    def _status(self, text: str) -> None:
        self.query_one("#sign-in-status", Static).update(text)

    @work(exclusive=True, group="sign-in")
    async def sign_in(self, url: str, options: ConnectionOptions) -> None:
        session = self.crm.session_or_raise()
        self.waiting = True
        self._status("connecting…")
        try:
            report = await session.sync.connect(
                "dataverse", url, options, on_device_code=self.show_device_code
            )
            self.crm.entity_defs = await session.records.entities()
        except DomainError as error:
            self._status(str(error))
            self.query_one("#device-code").display = False
            self.query_one("#sign-in-form").display = True
            self.notify(str(error), severity="error")
            return
        finally:
            self.waiting = False
        count = len(report.entities)
        self.notify(f"signed in to {report.url}: {count} tables to sync (s on Sync status)")
        self.dismiss(True)

    def show_device_code(self, prompt: DeviceCodePrompt) -> None:
        """Called by the sign-in service once the server issued a code, before it polls."""
        self.shown_code = prompt.user_code
        self.query_one("#sign-in-form").display = False
        self.query_one("#device-code").display = True
        self.query_one("#device-intro", Static).update(
            "On a phone or computer open the address below and enter this code:"
        )
        self.query_one("#device-code-big", Static).update("\n".join(big_text(prompt.user_code)))
        self.query_one("#device-code-text", Static).update(f"[b]{prompt.user_code}[/b]")
        self.query_one("#device-url", Static).update(f"[b]{prompt.verification_uri}[/b]")
        self._status("waiting for the approval… (escape stops)")

    def action_back(self) -> None:
        # Leaving cancels the polling worker with the screen; nothing was stored yet.
        self.dismiss(False)
