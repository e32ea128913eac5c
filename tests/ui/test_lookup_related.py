"""Lookup picker searches the store; the related view lists records pointing back."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import DataTable, Input, OptionList

from tests.ui.conftest import create_profile, type_text, unlock, wait_until
from tui_crm.config import Settings
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.lookup_picker import LookupPickerScreen
from tui_crm.ui.screens.record_form import RecordFormScreen
from tui_crm.ui.screens.record_list import RecordListScreen
from tui_crm.ui.screens.related import RelatedScreen
from tui_crm.ui.widgets.lookup_field import LookupField
from tui_crm.ui.widgets.record_table import RecordTable

SEED = {"account": [{"name": "Fabrikam Ltd"}, {"name": "Northwind Traders"}]}


async def test_pick_parent_account_then_see_contact_in_related(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        contact_key = str(1 + [e.name for e in app.entity_defs].index("contact"))
        await pilot.press(contact_key)
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "contacts")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "form")
        form = app.screen
        form.query_one("#field-lastname", Input).focus()
        await type_text(pilot, "Berg")
        lookup = form.query_one("#field-parentcustomerid", LookupField)
        lookup.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, LookupPickerScreen), "picker")
        results = app.screen.query_one("#results", OptionList)
        await wait_until(pilot, lambda: results.option_count == 2, "all accounts listed")
        await type_text(pilot, "north")
        await wait_until(pilot, lambda: results.option_count == 1, "search narrowed")
        await pilot.press("enter", "enter")  # to the results, pick the highlighted one
        await wait_until(pilot, lambda: app.screen is form, "back in the form")
        assert lookup.target is not None and lookup.target["entity"] == "account"
        assert "Northwind Traders" in str(lookup.render())
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "saved")

        assert app.session is not None
        northwind = (await app.session.records.list("account", search="Northwind")).records[0]
        assert lookup.target["id"] == northwind.id

        await pilot.press("escape", "1")
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, RecordListScreen)
                and app.screen.query_one("#records", RecordTable).row_count == 2
            ),
            "accounts",
        )
        await pilot.press("j", "enter")  # Northwind is second by name
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "account")
        assert "Northwind" in str(app.screen.query_one("#title").render())
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RelatedScreen), "related")
        table = app.screen.query_one("#related", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, "one related contact")
        assert str(table.get_row_at(0)[2]) == "Berg"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "contact view")
        assert app.screen.entity_def.name == "contact"
