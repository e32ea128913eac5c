"""Create → list → search → edit → delete through the screens, checked against the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.ui.conftest import (
    create_profile,
    open_list,
    type_text,
    unlock,
    wait_for_edit_form,
    wait_until,
)
from tui_crm.config import Settings
from tui_crm.domain import Page, RecordMissing, RecordState
from tui_crm.services.online import OnlineRecords
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.confirm import ConfirmScreen
from tui_crm.ui.screens.record_form import RecordFormScreen
from tui_crm.ui.screens.record_list import RecordListScreen
from tui_crm.ui.widgets.record_table import RecordTable

SEED = {
    "account": [
        {"name": "Fabrikam Ltd", "address1_city": "Oslo"},
        {"name": "Northwind Traders", "address1_city": "Bergen"},
    ]
}


async def accounts_list(
    pilot: Pilot[Any], app: CrmApp, until: Callable[[], bool], what: str
) -> None:
    """Unlock, open the accounts list, and wait until `until` holds."""
    await unlock(pilot)
    await open_list(pilot, app, "account")
    await wait_until(pilot, until, what)


def names(app: CrmApp) -> list[str]:
    table = app.screen.query_one("#records", RecordTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_create_list_search_edit_delete(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: isinstance(app.screen, RecordListScreen), "list")
        await wait_until(pilot, lambda: len(names(app)) == 2, "two seeded rows")

        # create
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "form")
        assert app.screen.focused is app.screen.query_one("#field-name")
        await type_text(pilot, "Contoso Pharma")
        app.screen.query_one("#field-telephone1", Input).focus()
        await type_text(pilot, "+47 555 0100")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "back to list")
        await wait_until(pilot, lambda: "Contoso Pharma" in names(app), "new row listed")
        table = app.screen.query_one("#records", RecordTable)
        row = table.get_row_index(
            next(k.value for k in table.rows if "Contoso" in str(table.get_row(k)[1]))
        )
        assert str(table.get_row_at(row)[0]) == "+", "a local create shows the 'new' glyph"
        assert app.session is not None
        page = await app.session.records.list("account", search="Contoso")
        assert [r.fields["telephone1"] for r in page.records] == ["+47 555 0100"]
        created_id = page.records[0].id

        # search as you type
        await pilot.press("slash")
        await type_text(pilot, "north")
        await wait_until(pilot, lambda: names(app) == ["Northwind Traders"], "search result")
        await pilot.press("escape")  # clears the search
        await wait_until(pilot, lambda: len(names(app)) == 3, "all rows again")

        # open and edit
        await pilot.press("slash")
        await type_text(pilot, "contoso")
        await wait_until(pilot, lambda: names(app) == ["Contoso Pharma"], "found the new one")
        await pilot.press("enter")  # leave the search box
        await pilot.press("enter")  # open the row
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "view form")
        form = app.screen
        assert isinstance(form, RecordFormScreen) and form.mode == "view"
        await pilot.press("e")
        await wait_until(pilot, lambda: form.mode == "edit", "edit mode")
        city = form.query_one("#field-address1_city", Input)
        city.focus()
        await type_text(pilot, "Trondheim")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "saved")
        record = await app.session.records.get("account", created_id)
        assert record.fields["address1_city"] == "Trondheim"
        assert record.fields["telephone1"] == "+47 555 0100"

        # delete, with confirmation
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "view again")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "deleted")
        try:
            gone = await app.session.records.get("account", created_id)
        except RecordMissing:
            pass  # a never-synced create disappears entirely
        else:
            assert gone.state is RecordState.DELETED


async def test_validation_errors_shown_beside_fields_and_nothing_saved(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: isinstance(app.screen, RecordListScreen), "list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "form")
        form = app.screen
        form.query_one("#field-emailaddress1", Input).focus()
        await type_text(pilot, "not-an-address")
        form.query_one("#field-address1_latitude", Input).focus()
        await type_text(pilot, "123")
        await pilot.press("ctrl+s")

        def error(name: str) -> str:
            box = form.query_one(f"#error-{name}", Static)
            return str(box.render()) if box.display else ""

        await wait_until(pilot, lambda: error("name") != "", "error beside name")
        assert "required" in error("name")
        assert "email" in error("emailaddress1")
        assert "90" in error("address1_latitude")
        assert error("telephone1") == ""
        assert isinstance(app.screen, RecordFormScreen), "an invalid form stays open"
        assert app.session is not None
        assert (await app.session.records.counts()).get("account", 0) == 0

        # Fixing the fields clears the messages and saves.
        form.query_one("#field-name", Input).focus()
        await type_text(pilot, "Valid Name")
        form.query_one("#field-emailaddress1", Input).value = "info@example.com"
        form.query_one("#field-address1_latitude", Input).value = "59.9"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "saved")
        assert (await app.session.records.counts()).get("account") == 1


async def test_escape_with_unsaved_changes_asks_before_discarding(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 2, "rows")
        await pilot.press("enter", "e")
        form = await wait_for_edit_form(pilot, "edit form")
        await pilot.press("escape")  # nothing changed yet: leaves without asking
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "left clean")

        await pilot.press("enter", "e")
        form = await wait_for_edit_form(pilot, "edit form again")
        form.query_one("#field-address1_city", Input).focus()
        await type_text(pilot, "X")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is form, "kept editing")
        assert form.query_one("#field-address1_city", Input).value.endswith("X")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked again")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "discarded")
        assert app.session is not None
        cities = {
            r.fields.get("address1_city")
            for r in (await app.session.records.list("account")).records
        }
        assert cities == {"Oslo", "Bergen"}
        assert await app.session.records.outbox() == [
            change for change in await app.session.records.outbox() if change.op == "create"
        ]


async def test_focusing_a_field_does_not_select_its_text(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    """In edit mode the first key typed adds to the value; it does not replace it."""
    await create_profile(
        settings, {"account": [{"name": "Contoso Pharma", "address1_city": "Oslo"}]}
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 1, "row")
        await pilot.press("enter", "e")
        form = await wait_for_edit_form(pilot, "edit form")
        name = form.query_one("#field-name", Input)
        await wait_until(pilot, lambda: form.focused is name, "name focused")
        await type_text(pilot, "X")
        assert name.value == "Contoso PharmaX"
        city = form.query_one("#field-address1_city", Input)
        while form.focused is not city:
            await pilot.press("tab")
        await type_text(pilot, "Y")
        assert city.value == "OsloY"


async def test_e_on_the_list_edits_the_highlighted_record(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(
            pilot, app, lambda: names(app) == ["Fabrikam Ltd", "Northwind Traders"], "rows"
        )
        await pilot.press("j", "e")
        form = await wait_for_edit_form(pilot, "edit form")
        assert form.record is not None
        assert form.record.name == "Northwind Traders"
        assert form.focused is form.query_one("#field-name", Input)
        await type_text(pilot, " AS")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "saved")
        await wait_until(pilot, lambda: "Northwind Traders AS" in names(app), "renamed row")
        footer_keys = {b.binding.key for b in app.screen.active_bindings.values()}
        assert "e" in footer_keys


async def test_search_typed_in_one_burst_goes_to_the_search(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    """Over SSH `/canary` arrives at once; its `n` must not open a new record."""
    from textual import events

    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 2, "rows")
        for char in "/north":
            app.post_message(events.Key("slash" if char == "/" else char, char))
        search = app.screen.query_one("#search", Input)
        await wait_until(pilot, lambda: search.value == "north", "burst typed into search")
        assert isinstance(app.screen, RecordListScreen)
        await wait_until(pilot, lambda: names(app) == ["Northwind Traders"], "filtered")


async def test_slash_moves_focus_before_the_next_key_is_routed(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    """Focus moved later (Textual's `focus()`) let keys queued behind `/` reach the table
    and come back to the search out of order: "/canary" became "anaryc" in a CI run."""
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 2, "rows")
        screen = app.screen
        assert isinstance(screen, RecordListScreen)
        screen.action_search()
        assert app.focused is screen.query_one("#search", Input), "focus moved at once"


async def test_keys_after_tab_out_of_search_go_to_the_table(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    """`/nor`, Tab to the table: `j` moves the cursor and `n` opens a new record."""
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 2, "rows")
        await pilot.press("slash", "n", "o", "r")
        search = app.screen.query_one("#search", Input)
        await wait_until(pilot, lambda: names(app) == ["Northwind Traders"], "filtered")
        await pilot.press("tab")
        await wait_until(pilot, lambda: isinstance(app.focused, RecordTable), "table focused")
        await pilot.press("j")
        await pilot.pause(0.3)
        assert search.value == "nor"
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "new record")
        assert search.value == "nor"


class CallLog(OnlineRecords):
    """The real record service the screens use, noting which queries they ask for."""

    calls: ClassVar[list[str]] = []

    async def counts(self) -> dict[str, int]:
        self.calls.append("counts")
        return await super().counts()

    async def list(self, entity: str, **options: Any) -> Page:
        self.calls.append(f"list {entity}")
        return await super().list(entity, **options)


async def test_list_opens_without_counting_every_record(
    make_app: Callable[..., CrmApp], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A count(*) grows with the store; the list shows pages, never waits for one."""
    from tui_crm.ui import online_switch

    monkeypatch.setattr(online_switch, "OnlineRecords", CallLog)
    log = CallLog
    log.calls.clear()
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 2, "first page")
        title = app.screen.query_one("#title", Static)
        await wait_until(pilot, lambda: "2 records" in str(title.render()), "rows in title")
        await pilot.press("r")  # re-sorting reloads: still no count
        await wait_until(pilot, lambda: names(app)[0] == "Northwind Traders", "reversed")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordFormScreen), "form")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "back")
        await pilot.pause(0.3)
        assert "counts" not in log.calls, log.calls
        assert log.calls.count("list account") >= 3


async def test_title_says_more_rows_follow_until_the_last_page(
    make_app: Callable[..., CrmApp], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_crm.ui.screens import record_list

    monkeypatch.setattr(record_list, "PAGE_SIZE", 2)
    monkeypatch.setattr(record_list, "PREFETCH_ROWS", 1)
    seed = {"account": [{"name": f"Account {n}"} for n in range(3)]}
    await create_profile(settings, seed)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 2, "first page")
        title = app.screen.query_one("#title", Static)
        assert "2+ records" in str(title.render())
        await pilot.press("j")
        await wait_until(pilot, lambda: len(names(app)) == 3, "second page")
        await wait_until(pilot, lambda: "· 3 records" in str(title.render()), "exact at the end")


async def test_search_text_is_not_markup(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(pilot, app, lambda: len(names(app)) == 2, "rows")
        await pilot.press("slash", "left_square_bracket", "slash", "x", "right_square_bracket")
        title = app.screen.query_one("#title", Static)
        await wait_until(pilot, lambda: "search: '[/x]'" in str(title.render()), "title")
        assert isinstance(app.screen, RecordListScreen)


async def test_sort_by_next_column_and_reverse(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings, SEED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await accounts_list(
            pilot, app, lambda: names(app) == ["Fabrikam Ltd", "Northwind Traders"], "A-Z"
        )
        await pilot.press("r")
        await wait_until(pilot, lambda: names(app) == ["Northwind Traders", "Fabrikam Ltd"], "Z-A")
        await pilot.press("s")  # next column: city, ascending (Bergen < Oslo)
        await wait_until(pilot, lambda: names(app) == ["Northwind Traders", "Fabrikam Ltd"], "city")
        title = str(app.screen.query_one("#title", Static).render())
        assert "sort: City ▲" in title
        await pilot.press("r")
        await wait_until(
            pilot, lambda: names(app) == ["Fabrikam Ltd", "Northwind Traders"], "city▼"
        )
