"""parse_input / format_value / validate: each field type's good and bad values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_crm.domain.entities import FieldDef, FieldType, PicklistOption
from tui_crm.domain.standard_schema import ACCOUNT, CONTACT, TASK
from tui_crm.domain.values import (
    check_value,
    derive_fields,
    format_value,
    parse_input,
    validate,
)

GUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
INDUSTRY = ACCOUNT.field("industrycode")
PARENT = CONTACT.field("parentcustomerid")
assert INDUSTRY is not None and PARENT is not None


def field(kind: FieldType, **kw: object) -> FieldDef:
    return FieldDef("f", "F", kind, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (FieldType.TEXT, "  Acme  ", "Acme"),
        (FieldType.MULTILINE, "line 1\nline 2 ", "line 1\nline 2 "),
        (FieldType.INTEGER, "1_000", 1000),
        (FieldType.INTEGER, "-7", -7),
        (FieldType.DECIMAL, "2.5", 2.5),
        (FieldType.MONEY, "1234.56", 1234.56),
        (FieldType.LATITUDE, "-33.86", -33.86),
        (FieldType.BOOLEAN, "Yes", True),
        (FieldType.BOOLEAN, "off", False),
        (FieldType.DATE, "2024-02-29", "2024-02-29"),
        (FieldType.DATETIME, "2024-05-01 14:30", "2024-05-01T14:30:00Z"),
        (FieldType.DATETIME, "2024-05-01T14:30:00+02:00", "2024-05-01T12:30:00Z"),
        (FieldType.DATETIME, "2024-05-01T14:30:00Z", "2024-05-01T14:30:00Z"),
        (FieldType.UNIQUEIDENTIFIER, GUID.upper(), GUID),
        (FieldType.TEXT, "   ", None),
    ],
)
def test_parse_input_accepts(kind: FieldType, text: str, expected: object) -> None:
    assert parse_input(field(kind), text) == expected


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (FieldType.INTEGER, "12.5", "whole number"),
        (FieldType.INTEGER, "ten", "whole number"),
        (FieldType.DECIMAL, "1,5e", "number"),
        (FieldType.MONEY, "inf", "finite"),
        (FieldType.LONGITUDE, "nan", "finite"),
        (FieldType.BOOLEAN, "maybe", "yes or no"),
        (FieldType.DATE, "2023-02-29", "YYYY-MM-DD"),
        (FieldType.DATE, "29.02.2024", "YYYY-MM-DD"),
        (FieldType.DATETIME, "tomorrow", "date and time"),
        (FieldType.UNIQUEIDENTIFIER, "not-a-guid", "GUID"),
    ],
)
def test_parse_input_rejects_with_a_message(kind: FieldType, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_input(field(kind), text)


def test_picklist_by_label_or_value() -> None:
    assert parse_input(INDUSTRY, "consulting") == 7
    assert parse_input(INDUSTRY, "7") == 7
    with pytest.raises(ValueError, match="must be one of"):
        parse_input(INDUSTRY, "99")
    with pytest.raises(ValueError, match="must be one of"):
        parse_input(INDUSTRY, "Astrology")


def test_lookup_needs_the_entity_when_polymorphic() -> None:
    assert parse_input(PARENT, f"account:{GUID}") == {"entity": "account", "id": GUID}
    with pytest.raises(ValueError, match="entity:id"):
        parse_input(PARENT, GUID)
    with pytest.raises(ValueError, match="account or contact"):
        parse_input(PARENT, f"lead:{GUID}")
    single = ACCOUNT.field("parentaccountid")
    assert single is not None
    assert parse_input(single, GUID) == {"entity": "account", "id": GUID}


@pytest.mark.parametrize(
    ("values", "bad_field", "message"),
    [
        ({"name": "x" * 161}, "name", "longer than 160"),
        ({"name": 5}, "name", "must be text"),
        ({"name": "two\nlines"}, "name", "one line"),
        ({"name": "nul\x00"}, "name", "NUL"),
        ({"emailaddress1": "not-an-email"}, "emailaddress1", "email"),
        ({"telephone1": "call me"}, "telephone1", "phone"),
        ({"websiteurl": "ftp://example.com"}, "websiteurl", "http"),
        ({"numberofemployees": 1.5}, "numberofemployees", "whole number"),
        ({"numberofemployees": True}, "numberofemployees", "whole number"),
        ({"numberofemployees": -1}, "numberofemployees", "at least 0"),
        ({"revenue": "12"}, "revenue", "number"),
        ({"revenue": math.inf}, "revenue", "finite"),
        ({"address1_latitude": 90.5}, "address1_latitude", "-90 and 90"),
        ({"address1_longitude": -180.01}, "address1_longitude", "-180 and 180"),
        ({"industrycode": 999}, "industrycode", "must be one of"),
        ({"industrycode": "7"}, "industrycode", "option value"),
        ({"parentaccountid": {"entity": "contact", "id": GUID}}, "parentaccountid", "account"),
        ({"parentaccountid": {"entity": "account", "id": "x"}}, "parentaccountid", "GUID"),
        ({"parentaccountid": GUID}, "parentaccountid", "reference"),
        ({"accountid": GUID}, "accountid", "read-only"),
        ({"shoe_size": 44}, "shoe_size", "no such field"),
    ],
)
def test_validate_names_the_bad_field(
    values: dict[str, object], bad_field: str, message: str
) -> None:
    errors = validate(ACCOUNT, {"name": "Acme", **values}, partial=False)
    assert list(errors) == [bad_field]
    assert message in errors[bad_field]


def test_validate_dates_and_booleans() -> None:
    assert validate(CONTACT, {"lastname": "X", "birthdate": "2023-02-30"}, partial=False) == {
        "birthdate": "must be a real date"
    }
    errors = validate(TASK, {"subject": "s", "scheduledend": "2024-01-01 10:00"}, partial=False)
    assert "scheduledend" in errors


def test_required_fields_on_create_and_update() -> None:
    assert validate(ACCOUNT, {}, partial=False) == {"name": "is required"}
    assert validate(ACCOUNT, {}, partial=True) == {}
    assert validate(ACCOUNT, {"name": None}, partial=True) == {"name": "is required"}
    assert validate(ACCOUNT, {"name": "  "}, partial=True) == {"name": "is required"}
    assert validate(CONTACT, {"fullname": "X", "lastname": "Y"}, partial=False) == {
        "fullname": "is read-only"
    }


def test_format_value_for_display() -> None:
    assert format_value(INDUSTRY, 7) == "Consulting"
    assert format_value(INDUSTRY, 999) == "999"
    assert format_value(field(FieldType.BOOLEAN), True) == "Yes"
    assert format_value(field(FieldType.MONEY), 1234.5) == "1,234.50"
    assert format_value(field(FieldType.DATETIME), "2024-05-01T14:30:00Z") == "2024-05-01 14:30"
    assert format_value(PARENT, {"entity": "account", "id": GUID}) == f"account:{GUID}"
    assert format_value(field(FieldType.TEXT), None) == ""


def test_full_name_is_derived_and_cleared() -> None:
    assert derive_fields(CONTACT, {"firstname": "Ada", "lastname": "Lovelace"})["fullname"] == (
        "Ada Lovelace"
    )
    assert "fullname" not in derive_fields(CONTACT, {"fullname": "Old"})
    assert derive_fields(ACCOUNT, {"name": "A"}) == {"name": "A"}


PICK = FieldDef("p", "P", FieldType.PICKLIST, options=(PicklistOption(1, "One"),))
NEEDS_OPTIONS = (FieldType.PICKLIST, FieldType.LOOKUP)
ALL_FIELDS = [field(kind) for kind in FieldType if kind not in NEEDS_OPTIONS]


@given(st.sampled_from([*ALL_FIELDS, PICK, PARENT]), st.text(max_size=40))
def test_parse_input_either_returns_a_valid_value_or_raises_value_error(
    target: FieldDef, text: str
) -> None:
    try:
        value = parse_input(target, text)
    except ValueError as exc:
        assert str(exc)
        return
    if value is not None:
        assert check_value(target, value) is None


@given(st.sampled_from([*ALL_FIELDS, PICK, PARENT]), st.from_type(object) | st.text())
def test_format_value_never_raises(target: FieldDef, value: object) -> None:
    assert isinstance(format_value(target, value), str)
