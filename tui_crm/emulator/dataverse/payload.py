"""Request bodies -> validated column values, refusing what the real service refuses.

A client that sends a `_x_value` key, an unknown column, a string too long, a
picklist value outside its options or a binding to a missing record gets the
400/404 the service gives, so connector bugs show up here and not in
production.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from tui_crm.emulator.dataverse.data import LookupWrite, iso
from tui_crm.emulator.dataverse.errors import BAD_PAYLOAD, VALIDATION, ODataError
from tui_crm.emulator.dataverse.metadata import TABLES_BY_SET, Attr, Table, option_label
from tui_crm.emulator.dataverse.odata import parse_datetime

_BIND_TARGET = re.compile(r"(?:^|/)([A-Za-z_][A-Za-z0-9_]*)\(\{?([0-9a-fA-F-]{36})\}?\)$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_EDM = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "Integer": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Double": "Edm.Double",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Boolean": "Edm.Boolean",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "DateTime": "Edm.DateTimeOffset",
    "Uniqueidentifier": "Edm.Guid",
    "EntityName": "Edm.String",
}


@dataclass(frozen=True)
class Payload:
    """A body split into plain columns and lookup bindings, plus a client-chosen id."""

    values: dict[str, Any]
    lookups: dict[str, LookupWrite]
    record_id: str | None


def is_guid(text: object) -> bool:
    return isinstance(text, str) and _GUID.match(text) is not None


def payload_error(table: Table, inner: str) -> ODataError:
    return ODataError(
        400,
        BAD_PAYLOAD,
        f"Error identified in Payload provided by the user for Entity :'{table.entity_set}', "
        "For more information on this error please follow this help link "
        "https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : "
        f"Microsoft.OData.ODataException: {inner}",
    )


def parse_payload(table: Table, body: object, *, creating: bool) -> Payload:
    """Validate a POST/PATCH body for `table`."""
    if not isinstance(body, dict):
        raise ODataError(400, BAD_PAYLOAD, "The request body must be a JSON object.")
    values: dict[str, Any] = {}
    lookups: dict[str, LookupWrite] = {}
    record_id: str | None = None
    navigation = table.navigation()
    for key, raw in body.items():
        if key.startswith("@"):
            continue
        if key.endswith("@odata.bind"):
            nav = key[: -len("@odata.bind")]
            if nav not in navigation:
                raise payload_error(
                    table,
                    f"An undeclared property '{nav}' which only has property annotations in "
                    "the payload but no property value was found in the payload. In OData, "
                    "only declared navigation properties and declared named streams can be "
                    "represented as properties without values.",
                )
            attr, targets = navigation[nav]
            lookups[attr.wire_name] = _bind(table, attr, targets, raw)
            continue
        if "@" in key:
            continue  # instance annotations on a property are allowed and ignored
        column = table.attr(key)
        if column is None or column.is_lookup:
            raise payload_error(
                table,
                f"The property '{key}' does not exist on type "
                f"'Microsoft.Dynamics.CRM.{table.logical}'. Make sure to only use property "
                "names that are defined by the type or mark the type as open type.",
            )
        if column.name == table.primary_id:
            if raw is not None and not is_guid(raw):
                raise payload_error(
                    table, f"Cannot convert the literal '{raw}' to the expected type 'Edm.Guid'."
                )
            if creating and raw is not None:
                record_id = str(raw).lower()
            continue
        if not (column.create if creating else column.update):
            continue  # the service ignores columns that are not valid for the operation
        values[column.name] = coerce(table, column, raw)
    return Payload(values, lookups, record_id)


def _bind(table: Table, attr: Attr, targets: tuple[str, ...], raw: object) -> LookupWrite:
    if raw is None:
        return LookupWrite(None, None)
    match = _BIND_TARGET.search(str(raw)) if isinstance(raw, str) else None
    if match is None:
        raise payload_error(
            table, f"The value '{raw}' of '{attr.name}@odata.bind' is not a valid entity URL."
        )
    entity_set, target_id = match.group(1), match.group(2).lower()
    referenced = TABLES_BY_SET.get(entity_set)
    if referenced is None or referenced.logical not in targets:
        raise ODataError(
            400,
            BAD_PAYLOAD,
            f"'{entity_set}' is not a valid target for the navigation property of "
            f"'{attr.name}' (expected the '{' or '.join(targets)}' table).",
        )
    return LookupWrite(referenced.logical, target_id)


def _mismatch(table: Table, attr: Attr, raw: object) -> ODataError:
    return payload_error(
        table,
        f"Cannot convert the literal '{raw}' to the expected type '{_EDM.get(attr.kind, 'Edm')}'.",
    )


def _out_of_range(table: Table, attr: Attr, raw: object) -> ODataError:
    low, high = attr.min_value, attr.max_value
    accepted = (
        f" Accepted range: {low:g} to {high:g}" if low is not None and high is not None else ""
    )
    return ODataError(
        400,
        VALIDATION,
        f"A validation error occurred. The value {raw} of '{attr.name}' on record of type "
        f"'{table.logical}' is outside the valid range.{accepted}",
    )


def coerce(table: Table, attr: Attr, raw: object) -> Any:
    """One column value as the service would store it, or the error it would send."""
    if raw is None:
        return None
    kind = attr.kind
    if kind in ("String", "Memo", "EntityName"):
        if not isinstance(raw, str):
            raise _mismatch(table, attr, raw)
        if attr.max_length is not None and len(raw) > attr.max_length:
            raise ODataError(
                400,
                VALIDATION,
                f"A validation error occurred. The length of the '{attr.name}' attribute of "
                f"the '{table.logical}' entity exceeded the maximum allowed length of "
                f"'{attr.max_length}'.",
            )
        return raw
    if kind in ("Integer", "BigInt"):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _mismatch(table, attr, raw)
        _check_range(table, attr, raw)
        return raw
    if kind in ("Double", "Decimal", "Money"):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _mismatch(table, attr, raw)
        _check_range(table, attr, raw)
        return round(float(raw), attr.precision) if attr.precision is not None else float(raw)
    if kind == "Boolean":
        if not isinstance(raw, bool):
            raise _mismatch(table, attr, raw)
        return raw
    if kind in ("Picklist", "State", "Status"):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _mismatch(table, attr, raw)
        if option_label(attr, raw) is None:
            raise ODataError(
                400,
                VALIDATION,
                f"A validation error occurred. The value {raw} of '{attr.name}' on record of "
                f"type '{table.logical}' is outside the valid range.",
            )
        return raw
    if kind == "DateTime":
        if not isinstance(raw, str):
            raise _mismatch(table, attr, raw)
        try:
            if attr.fmt == "DateOnly":
                return date.fromisoformat(raw[:10]).isoformat()
            return iso(parse_datetime(raw))
        except ValueError as error:
            raise _mismatch(table, attr, raw) from error
    if kind == "Uniqueidentifier":
        if not is_guid(raw):
            raise _mismatch(table, attr, raw)
        return str(raw).lower()
    raise _mismatch(table, attr, raw)


def _check_range(table: Table, attr: Attr, raw: float) -> None:
    if attr.min_value is not None and raw < attr.min_value:
        raise _out_of_range(table, attr, raw)
    if attr.max_value is not None and raw > attr.max_value:
        raise _out_of_range(table, attr, raw)


def new_id() -> str:
    return str(uuid.uuid4())
