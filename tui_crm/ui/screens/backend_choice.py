"""First run, step 3: which CRM this profile will talk to (or none).

Connecting itself comes with the sync work; until then the choice is kept
in the encrypted settings and the profile works offline.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui_crm.domain import DomainError
from tui_crm.ui.screens.base import CrmScreen

BACKENDS: tuple[tuple[str, str], ...] = (
    ("dataverse", "Microsoft Dataverse (Dynamics 365)"),
    ("salesforce", "Salesforce"),
    ("resco", "Resco Cloud"),
    ("offline", "Offline only"),
)

BACKEND_SETTING = "backend"


class BackendChoiceScreen(CrmScreen[None]):
    HELP = "Pick the CRM this profile will synchronise with. You can connect it later."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", id="backend.down", show=False),
        Binding("k", "cursor_up", "Up", id="backend.up", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Choose a backend[/b]", classes="dialog-title")
            yield OptionList(*(Option(label, id=key) for key, label in BACKENDS), id="backends")
            yield Static("", id="progress", classes="progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.store_choice(event.option.id)

    @work(exclusive=True, group="backend")
    async def store_choice(self, backend: str) -> None:
        session = self.crm.session_or_raise()
        self.query_one("#progress", Static).update("saving…")
        try:
            await session.settings.set(BACKEND_SETTING, backend)
        except DomainError as error:
            self.query_one("#progress", Static).update(str(error))
            return
        self.crm.hand_over(session)
