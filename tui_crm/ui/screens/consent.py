"""First run, step 1: the privacy notice, accepted before anything is stored."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Static

from tui_crm.ui.screens.base import CrmScreen

NOTICE = """\
[b]Before we start: what tui-crm keeps, and where[/b]

• Your CRM records, settings and server sign-in are stored only on this
  device, in one database encrypted with a random key.
• That key is protected by the password you choose next. Without it the
  files cannot be read — and a lost password cannot be recovered.
• Nothing is sent anywhere except to the CRM server you connect
  (Dataverse, Salesforce or Resco Cloud) and the Google services you
  turn on yourself. No analytics, no crash reports.
• To withdraw your consent, wipe the profile (`tui-crm wipe --yes`): it
  deletes the database, the key file and everything they hold.
"""


class ConsentScreen(CrmScreen[None]):
    HELP = (
        "Read what is stored and where. Accept to continue, or quit: nothing has been written yet."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="consent.accept"),
        Binding("q", "decline", "Quit", id="consent.quit"),
        Binding("j,down", "scroll_down", "Scroll", id="consent.down", show=False),
        Binding("k,up", "scroll_up", "Scroll", id="consent.up", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="notice"):
            yield Static(NOTICE, id="notice-text")
        with Horizontal(classes="buttons"):
            yield Button("Accept", id="accept", variant="primary")
            yield Button("Quit", id="decline")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#accept", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "accept":
            self.action_accept()
        else:
            self.action_decline()

    def action_accept(self) -> None:
        from tui_crm.ui.screens.create_password import CreatePasswordScreen

        self.app.switch_screen(CreatePasswordScreen())

    def action_decline(self) -> None:
        self.app.exit(0)

    def action_scroll_down(self) -> None:
        self.query_one("#notice", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one("#notice", VerticalScroll).scroll_up(animate=False)
