"""Field values: parse what a user typed, format for display, validate before a write.

Pure functions, shared by the form, the CLI's `--set FIELD=VALUE`, imports and
the store, so a value is judged the same way wherever it comes from. Lookup
existence needs the database and is checked by the store.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from tui_crm.domain.entities import TEXTUAL_TYPES, EntityDef, FieldDef, FieldType

JsonValue = Any

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./\-]*[0-9][0-9 ()./\-]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.I)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})
_INT_LIMIT = 2**63

FULLNAME_PARTS = ("firstname", "lastname")


def is_empty(value: JsonValue) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_input(field: FieldDef, text: str) -> JsonValue:
    """Turn typed text into the JSON value of the field; empty text clears it.

    Raises ValueError with a message fit to show beside the field, including
    for values of the right type that `validate` would refuse (range, format).
    """
    value = _parse(field, text)
    if value is not None:
        problem = check_value(field, value)
        if problem:
            raise ValueError(problem)
    return value


def _parse(field: FieldDef, text: str) -> JsonValue:
    stripped = text.strip()
    if stripped == "":
        return None
    kind = field.type
    if kind == FieldType.MULTILINE:
        return text
    if kind in TEXTUAL_TYPES:
        return stripped
    if kind == FieldType.INTEGER:
        return _parse_int(stripped)
    if kind in (FieldType.DECIMAL, FieldType.MONEY, FieldType.LATITUDE, FieldType.LONGITUDE):
        return _parse_float(stripped)
    if kind == FieldType.BOOLEAN:
        return _parse_bool(stripped)
    if kind == FieldType.DATE:
        return _parse_date(stripped)
    if kind == FieldType.DATETIME:
        return _parse_datetime(stripped)
    if kind == FieldType.PICKLIST:
        return _parse_picklist(field, stripped)
    if kind == FieldType.LOOKUP:
        return _parse_lookup(field, stripped)
    if kind == FieldType.UNIQUEIDENTIFIER:
        return _parse_guid(stripped)
    raise ValueError(f"unsupported field type {kind}")


def _parse_int(text: str) -> int:
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise ValueError("must be a whole number") from None


def _parse_float(text: str) -> float:
    try:
        number = float(text.replace("_", ""))
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be yes or no")


def _parse_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError("must be a date as YYYY-MM-DD") from None


def _parse_datetime(text: str) -> str:
    """Accepts ISO 8601 with or without seconds/offset; a time without offset is taken as UTC."""
    candidate = text.replace(" ", "T", 1) if "T" not in text else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError("must be a date and time as YYYY-MM-DD HH:MM") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_picklist(field: FieldDef, text: str) -> int:
    lowered = text.lower()
    for option in field.options:
        if option.label.lower() == lowered:
            return option.value
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"must be one of: {_option_list(field)}") from None
    if field.option_label(value) is None:
        raise ValueError(f"must be one of: {_option_list(field)}")
    return value


def _option_list(field: FieldDef) -> str:
    labels = [option.label for option in field.options[:8]]
    more = ", …" if len(field.options) > 8 else ""
    return ", ".join(labels) + more


def _parse_lookup(field: FieldDef, text: str) -> dict[str, str]:
    entity, sep, ident = text.partition(":")
    if not sep:
        if len(field.targets) != 1:
            raise ValueError(f"give the target as entity:id ({', '.join(field.targets)})")
        entity, ident = field.targets[0], text
    entity = entity.strip().lower()
    if entity not in field.targets:
        raise ValueError(f"must point to {' or '.join(field.targets)}")
    return {"entity": entity, "id": _parse_guid(ident.strip())}


def _parse_guid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ValueError("must be an id (GUID)") from None


def format_value(field: FieldDef, value: JsonValue) -> str:
    """One line of display text; never raises, whatever a server sent."""
    if value is None:
        return ""
    kind = field.type
    if kind == FieldType.BOOLEAN and isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == FieldType.PICKLIST and isinstance(value, int) and not isinstance(value, bool):
        return field.option_label(value) or str(value)
    if kind == FieldType.MONEY and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.2f}"
    if kind == FieldType.LOOKUP and isinstance(value, Mapping):
        return f"{value.get('entity', '')}:{value.get('id', '')}"
    if kind == FieldType.DATETIME and isinstance(value, str) and _DATETIME.match(value):
        return value[:16].replace("T", " ")
    if isinstance(value, float) and value.is_integer() and kind != FieldType.DECIMAL:
        return str(value)
    return str(value)


def validate(
    entity_def: EntityDef, values: Mapping[str, JsonValue], *, partial: bool
) -> dict[str, str]:
    """Problems per field name; empty when the values may be written.

    `partial` is an update: absent required fields are fine, clearing them is not.
    """
    errors: dict[str, str] = {}
    for name, value in values.items():
        field = entity_def.field(name)
        if field is None:
            errors[name] = f"no such field on {entity_def.name}"
            continue
        if field.read_only or name == entity_def.primary_key:
            errors[name] = "is read-only"
            continue
        if is_empty(value):
            if field.required:
                errors[name] = "is required"
            continue
        problem = check_value(field, value)
        if problem:
            errors[name] = problem
    if not partial:
        for field in entity_def.fields:
            if field.required and field.name not in errors and is_empty(values.get(field.name)):
                errors[field.name] = "is required"
    return errors


def check_value(field: FieldDef, value: JsonValue) -> str | None:
    """The problem with one non-empty JSON value, or None."""
    kind = field.type
    if kind in TEXTUAL_TYPES:
        return _check_text(field, value)
    if kind == FieldType.INTEGER:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be a whole number"
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            return "is too large"
        return _check_range(field, value)
    if kind in (FieldType.DECIMAL, FieldType.MONEY, FieldType.LATITUDE, FieldType.LONGITUDE):
        return _check_number(field, value)
    if kind == FieldType.BOOLEAN:
        return None if isinstance(value, bool) else "must be yes or no"
    if kind == FieldType.DATE:
        return _check_date(value)
    if kind == FieldType.DATETIME:
        return _check_datetime(value)
    if kind == FieldType.PICKLIST:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be an option value"
        return (
            None
            if field.option_label(value) is not None
            else f"must be one of: {_option_list(field)}"
        )
    if kind == FieldType.LOOKUP:
        return _check_lookup(field, value)
    if kind == FieldType.UNIQUEIDENTIFIER:
        return None if isinstance(value, str) and _GUID.match(value) else "must be an id (GUID)"
    return f"unsupported field type {kind}"


def _check_text(field: FieldDef, value: JsonValue) -> str | None:
    if not isinstance(value, str):
        return "must be text"
    if "\x00" in value:
        return "must not contain NUL characters"
    if field.max_length is not None and len(value) > field.max_length:
        return f"is longer than {field.max_length} characters"
    if field.type == FieldType.EMAIL and not _EMAIL.match(value):
        return "must be an email address"
    if field.type == FieldType.PHONE and not _PHONE.match(value):
        return "must be a phone number"
    if field.type == FieldType.URL and not _URL.match(value):
        return "must be a web address starting with http:// or https://"
    if field.type not in (FieldType.MULTILINE,) and ("\n" in value or "\r" in value):
        return "must be one line"
    return None


def _check_number(field: FieldDef, value: JsonValue) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "must be a number"
    if not math.isfinite(value):
        return "must be a finite number"
    if field.type == FieldType.LATITUDE and not -90 <= value <= 90:
        return "must be between -90 and 90"
    if field.type == FieldType.LONGITUDE and not -180 <= value <= 180:
        return "must be between -180 and 180"
    return _check_range(field, value)


def _check_range(field: FieldDef, value: float) -> str | None:
    if field.min_value is not None and value < field.min_value:
        return f"must be at least {_num(field.min_value)}"
    if field.max_value is not None and value > field.max_value:
        return f"must be at most {_num(field.max_value)}"
    return None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_date(value: JsonValue) -> str | None:
    if not isinstance(value, str) or not _DATE.match(value):
        return "must be a date as YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "must be a real date"
    return None


def _check_datetime(value: JsonValue) -> str | None:
    if not isinstance(value, str) or not _DATETIME.match(value):
        return "must be a UTC date and time as YYYY-MM-DDTHH:MM:SSZ"
    try:
        datetime.fromisoformat(value[:-1])
    except ValueError:
        return "must be a real date and time"
    return None


def _check_lookup(field: FieldDef, value: JsonValue) -> str | None:
    if not isinstance(value, Mapping) or set(value) != {"entity", "id"}:
        return "must be a reference {entity, id}"
    if value["entity"] not in field.targets:
        return f"must point to {' or '.join(field.targets)}"
    ident = value["id"]
    if not isinstance(ident, str) or not _GUID.match(ident):
        return "must point to an id (GUID)"
    return None


def derive_fields(entity_def: EntityDef, fields: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """Fill the fields the server computes (a person's full name) so offline lists show them."""
    if entity_def.primary_name == "fullname" and all(
        entity_def.has_field(n) for n in FULLNAME_PARTS
    ):
        parts = [str(fields[n]).strip() for n in FULLNAME_PARTS if not is_empty(fields.get(n))]
        derived = dict(fields)
        if parts:
            derived["fullname"] = " ".join(parts)
        else:
            derived.pop("fullname", None)
        return derived
    return fields
