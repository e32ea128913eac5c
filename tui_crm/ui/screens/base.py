"""What every tui-crm screen shares: typed access to the app and its services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar, cast

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from tui_crm.services.records import RecordService
    from tui_crm.ui.app import CrmApp

ResultT = TypeVar("ResultT")


class CrmScreen(Screen[ResultT], Generic[ResultT]):
    """A full screen of the app.

    `HELP` is the paragraph the help screen shows above the bindings, so each
    screen explains itself where it is defined.
    """

    HELP = ""

    @property
    def crm(self) -> CrmApp:
        return cast("CrmApp", self.app)

    @property
    def records(self) -> RecordService:
        """The record service of the current mode: online reads and saves go to the server."""
        from tui_crm.ui.online_switch import records_for

        return records_for(self.crm)


class CrmModal(ModalScreen[ResultT], Generic[ResultT]):
    """A dialog over another screen (confirmations, pickers, help)."""

    HELP = ""

    @property
    def crm(self) -> CrmApp:
        return cast("CrmApp", self.app)

    @property
    def records(self) -> RecordService:
        return self.crm.session_or_raise().records
