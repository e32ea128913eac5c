"""Each field editor through the keyboard: a value typed, saved, reopened comes back the same;
an invalid value shows its message beside the field and saves nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from tests.ui.conftest import (
    create_profile,
    new_form,
    open_list,
    type_text,
    unlock,
    wait_for_edit_form,
    wait_until,
)
from tui_crm.config import Settings
from tui_crm.ui.app import CrmApp
from tui_crm.ui.screens.record_form import RecordFormScreen
from tui_crm.ui.screens.record_list import RecordListScreen
from tui_crm.ui.widgets.record_table import RecordTable


async def focus_field(pilot: Pilot[Any], form: RecordFormScreen, name: str) -> None:
    """Tab to the field, as a person does (the keyboard, not `.focus()`)."""
    target = form.query_one(f"#field-{name}")
    for _ in range(40):
        if form.focused is target:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached {name}")


async def pick_option(pilot: Pilot[Any], form: RecordFormScreen, name: str, label: str) -> None:
    """Open the picklist with enter, move down to `label` (below the blank row), enter."""
    select = form.query_one(f"#field-{name}", Select)
    field = form.entity_def.field(name)
    assert field is not None
    index = [option.label for option in field.options].index(label)
    await focus_field(pilot, form, name)
    await pilot.press("enter")
    await wait_until(pilot, lambda: select.expanded, "picklist open")
    await pilot.press(*["down"] * (index + 1), "enter")
    await wait_until(pilot, lambda: not select.expanded, "picklist closed")


async def save_and_reopen(pilot: Pilot[Any], app: CrmApp, form: RecordFormScreen) -> str:
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "saved")
    table = app.screen.query_one("#records", RecordTable)
    await wait_until(pilot, lambda: table.row_count == 1, "row listed")
    await pilot.press("e")
    reopened = await wait_for_edit_form(pilot, "reopened in edit mode")
    assert reopened.record is not None
    return reopened.record.id


async def test_number_money_date_picklist_multiline_round_trip(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await open_list(pilot, app, "opportunity")
        form = await new_form(pilot, app)
        await type_text(pilot, "Fleet renewal")
        await focus_field(pilot, form, "estimatedvalue")
        await type_text(pilot, "12500.5")
        await focus_field(pilot, form, "estimatedclosedate")
        await type_text(pilot, "2026-03-31")
        await focus_field(pilot, form, "closeprobability")
        await type_text(pilot, "70")
        await pick_option(pilot, form, "opportunityratingcode", "Warm")
        await focus_field(pilot, form, "description")
        await type_text(pilot, "first line")
        await pilot.press("enter")
        await type_text(pilot, "second line")
        record_id = await save_and_reopen(pilot, app, form)

        assert app.session is not None
        stored = (await app.session.records.get("opportunity", record_id)).fields
        assert stored["estimatedvalue"] == 12500.5
        assert stored["estimatedclosedate"] == "2026-03-31"
        assert stored["closeprobability"] == 70
        assert stored["opportunityratingcode"] == 2
        assert stored["description"] == "first line\nsecond line"
        again = app.screen
        assert isinstance(again, RecordFormScreen)
        assert again.query_one("#field-estimatedvalue", Input).value == "12500.50"
        assert again.query_one("#field-estimatedclosedate", Input).value == "2026-03-31"
        assert again.query_one("#field-closeprobability", Input).value == "70"
        assert again.query_one("#field-opportunityratingcode", Select).value == 2
        assert again.query_one("#field-description", TextArea).text == "first line\nsecond line"
        assert not again.is_dirty(), "the reopened values are exactly what was saved"


async def test_datetime_boolean_round_trip(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await open_list(pilot, app, "appointment")
        form = await new_form(pilot, app)
        await type_text(pilot, "Site visit")
        await focus_field(pilot, form, "scheduledstart")
        await type_text(pilot, "2026-01-05 10:30")
        await focus_field(pilot, form, "isalldayevent")
        await pilot.press("space")
        assert form.query_one("#field-isalldayevent", Checkbox).value is True
        record_id = await save_and_reopen(pilot, app, form)

        assert app.session is not None
        stored = (await app.session.records.get("appointment", record_id)).fields
        assert stored["scheduledstart"] == "2026-01-05T10:30:00Z"
        assert stored["isalldayevent"] is True
        again = app.screen
        assert isinstance(again, RecordFormScreen)
        assert again.query_one("#field-scheduledstart", Input).value == "2026-01-05 10:30"
        assert again.query_one("#field-isalldayevent", Checkbox).value is True
        # And back off: the checkbox round-trips both ways.
        await focus_field(pilot, again, "isalldayevent")
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordListScreen), "saved off")
        stored = (await app.session.records.get("appointment", record_id)).fields
        assert stored["isalldayevent"] is False


INVALID = [
    # entity, field, typed, message part
    ("opportunity", "estimatedvalue", "1e20", "at most"),
    ("opportunity", "estimatedvalue", "1e400", "finite"),
    ("opportunity", "closeprobability", "150", "at most 100"),
    ("opportunity", "estimatedclosedate", "2024-13-40", "YYYY-MM-DD"),
    ("appointment", "scheduledstart", "2024-01-01 25:00", "YYYY-MM-DD HH:MM"),
]


@pytest.mark.parametrize(("entity", "field", "typed", "message"), INVALID)
async def test_invalid_value_shows_message_beside_field_and_saves_nothing(
    make_app: Callable[..., CrmApp],
    settings: Settings,
    entity: str,
    field: str,
    typed: str,
    message: str,
) -> None:
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await open_list(pilot, app, entity)
        form = await new_form(pilot, app)
        await type_text(pilot, "Valid name")
        await focus_field(pilot, form, field)
        await type_text(pilot, typed)
        assert form.query_one(f"#field-{field}", Input).value == typed
        await pilot.press("ctrl+s")
        box = form.query_one(f"#error-{field}", Static)
        await wait_until(pilot, lambda: box.display, "message beside the field")
        assert message in str(box.render())
        assert app.screen is form, "an invalid form stays open"
        assert form.focused is form.query_one(f"#field-{field}"), "focus goes to the problem"
        assert app.session is not None
        assert (await app.session.records.counts()).get(entity, 0) == 0
        assert await app.session.records.outbox() == []


async def test_letters_never_reach_number_and_money_fields(
    make_app: Callable[..., CrmApp], settings: Settings
) -> None:
    """ "abc" in money or number is refused as typed, so it cannot be saved either."""
    await create_profile(settings)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await open_list(pilot, app, "opportunity")
        form = await new_form(pilot, app)
        for name in ("estimatedvalue", "closeprobability", "estimatedclosedate"):
            await focus_field(pilot, form, name)
            await type_text(pilot, "abc")
            assert form.query_one(f"#field-{name}", Input).value == "", name
