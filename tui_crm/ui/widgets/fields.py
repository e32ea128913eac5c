"""One editor widget per field type, all with the same small interface.

The form treats every editor alike: `read_raw()`/`write_raw()` move the
editor's own state (for the dirty check and for drafts kept across a lock),
and `parsed()` turns it into the JSON value the services expect, raising
`ValueError` with a user-facing message. Parsing text uses the domain's
`parse_input`, so the form and the CLI accept exactly the same input.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from textual.validation import Number
from textual.widget import Widget
from textual.widgets import Select

from tui_crm.domain import FieldDef, FieldType
from tui_crm.domain.records import JsonValue
from tui_crm.domain.values import format_value, parse_input
from tui_crm.ui.widgets.lookup_field import LookupField
from tui_crm.ui.widgets.quiet import QuietInput, QuietTextArea
from tui_crm.ui.widgets.toggle import StateCheckbox

PLACEHOLDERS: dict[FieldType, str] = {
    FieldType.DATE: "YYYY-MM-DD",
    FieldType.DATETIME: "YYYY-MM-DD HH:MM (UTC)",
    FieldType.EMAIL: "name@example.com",
    FieldType.URL: "https://…",
    FieldType.LATITUDE: "-90 … 90",
    FieldType.LONGITUDE: "-180 … 180",
    FieldType.MONEY: "0.00",
}

RESTRICT: dict[FieldType, str] = {
    # Keystrokes that can never be valid are refused as typed.
    FieldType.DATE: r"[0-9-]*",
    FieldType.DATETIME: r"[0-9:TZ -]*",
    FieldType.PHONE: r"[0-9+()./ x-]*",
}

RANGES: dict[FieldType, tuple[float, float]] = {
    FieldType.LATITUDE: (-90.0, 90.0),
    FieldType.LONGITUDE: (-180.0, 180.0),
}


@runtime_checkable
class FieldEditor(Protocol):
    field_def: FieldDef

    def read_raw(self) -> object: ...

    def write_raw(self, raw: object) -> None: ...

    def parsed(self) -> JsonValue: ...


class TextFieldEditor(QuietInput):
    """Single-line text, numbers, dates, email/phone/url, latitude/longitude."""

    def __init__(self, field_def: FieldDef, value: JsonValue, *, id: str) -> None:
        input_type: Any = "text"
        if field_def.type is FieldType.INTEGER:
            input_type = "integer"
        elif field_def.type in (
            FieldType.DECIMAL,
            FieldType.MONEY,
            FieldType.LATITUDE,
            FieldType.LONGITUDE,
        ):
            input_type = "number"
        validators = []
        bounds = RANGES.get(field_def.type)
        low = field_def.min_value if field_def.min_value is not None else (bounds or (None,))[0]
        high = (
            field_def.max_value
            if field_def.max_value is not None
            else (bounds[1] if bounds else None)
        )
        if input_type != "text" and (low is not None or high is not None):
            validators.append(Number(minimum=low, maximum=high))
        super().__init__(
            value="" if value is None else format_value(field_def, value),
            placeholder=PLACEHOLDERS.get(field_def.type, ""),
            type=input_type,
            restrict=RESTRICT.get(field_def.type),
            max_length=field_def.max_length or 0,
            validators=validators,
            validate_on=["changed", "blur"],
            id=id,
            compact=True,
            disabled=field_def.read_only,
        )
        self.field_def = field_def

    def read_raw(self) -> object:
        return self.value

    def write_raw(self, raw: object) -> None:
        self.value = raw if isinstance(raw, str) else ""

    def parsed(self) -> JsonValue:
        text = self.value.strip()
        return None if not text else parse_input(self.field_def, text)


class MultilineFieldEditor(QuietTextArea):
    def __init__(self, field_def: FieldDef, value: JsonValue, *, id: str) -> None:
        super().__init__(
            "" if value is None else str(value),
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            disabled=field_def.read_only,
        )
        self.field_def = field_def

    def read_raw(self) -> object:
        return self.text

    def write_raw(self, raw: object) -> None:
        self.load_text(raw if isinstance(raw, str) else "")

    def parsed(self) -> JsonValue:
        text = self.text.rstrip()
        return None if not text.strip() else parse_input(self.field_def, text)


class BooleanFieldEditor(StateCheckbox):
    def __init__(self, field_def: FieldDef, value: JsonValue, *, id: str) -> None:
        super().__init__(
            bool(value),
            on_label="yes",
            off_label="no",
            id=id,
            compact=True,
            disabled=field_def.read_only,
        )
        self.field_def = field_def

    def read_raw(self) -> object:
        return self.value

    def write_raw(self, raw: object) -> None:
        self.value = bool(raw)

    def parsed(self) -> JsonValue:
        return self.value


class PicklistFieldEditor(Select[int]):
    def __init__(self, field_def: FieldDef, value: JsonValue, *, id: str) -> None:
        options = [(option.label, option.value) for option in field_def.options]
        known = {option.value for option in field_def.options}
        super().__init__(
            options,
            prompt="(none)",
            allow_blank=True,
            value=value if isinstance(value, int) and value in known else Select.NULL,
            id=id,
            compact=True,
            disabled=field_def.read_only,
        )
        self.field_def = field_def

    def read_raw(self) -> object:
        return None if self.is_blank() else self.value

    def write_raw(self, raw: object) -> None:
        if isinstance(raw, int):
            self.value = raw
        else:
            self.clear()

    def parsed(self) -> JsonValue:
        return None if self.is_blank() else self.value


class LookupFieldEditor(LookupField):
    def __init__(self, field_def: FieldDef, value: JsonValue, *, id: str) -> None:
        super().__init__(field_def, value if isinstance(value, dict) else None, id=id)
        self.field_def = field_def

    def read_raw(self) -> object:
        return None if self.target is None else dict(self.target)

    def write_raw(self, raw: object) -> None:
        self.set_target(raw if isinstance(raw, dict) else None)

    def parsed(self) -> JsonValue:
        return None if self.target is None else dict(self.target)


def editor_for(field_def: FieldDef, value: JsonValue, *, id: str) -> Widget:
    """The fitting editor for a field type; every result satisfies `FieldEditor`."""
    if field_def.type is FieldType.MULTILINE:
        return MultilineFieldEditor(field_def, value, id=id)
    if field_def.type is FieldType.BOOLEAN:
        return BooleanFieldEditor(field_def, value, id=id)
    if field_def.type is FieldType.PICKLIST:
        return PicklistFieldEditor(field_def, value, id=id)
    if field_def.type is FieldType.LOOKUP:
        return LookupFieldEditor(field_def, value, id=id)
    return TextFieldEditor(field_def, value, id=id)
