"""Dataverse's OData wire format ↔ our domain values (pure functions, no I/O).

Kept apart from the HTTP conversation so the mapping can be tested (and
fuzzed) on recorded responses alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tui_crm.connectors.base import RemoteRecord
from tui_crm.domain.entities import EntityDef, FieldDef, FieldType, PicklistOption

ANNOTATION_LOOKUP_ENTITY = "@Microsoft.Dynamics.CRM.lookuplogicalname"

_TYPE_MAP: dict[str, FieldType] = {
    "String": FieldType.TEXT,
    "Memo": FieldType.MULTILINE,
    "Integer": FieldType.INTEGER,
    "BigInt": FieldType.INTEGER,
    "Decimal": FieldType.DECIMAL,
    "Double": FieldType.DECIMAL,
    "Money": FieldType.MONEY,
    "Boolean": FieldType.BOOLEAN,
    "DateTime": FieldType.DATETIME,
    "Picklist": FieldType.PICKLIST,
    "State": FieldType.PICKLIST,
    "Status": FieldType.PICKLIST,
    "Lookup": FieldType.LOOKUP,
    "Customer": FieldType.LOOKUP,
    "Owner": FieldType.LOOKUP,
    "Uniqueidentifier": FieldType.UNIQUEIDENTIFIER,
}

_STRING_FORMATS: dict[str, FieldType] = {
    "email": FieldType.EMAIL,
    "phone": FieldType.PHONE,
    "url": FieldType.URL,
    "textarea": FieldType.MULTILINE,
}

_SYSTEM_FIELDS = frozenset({"versionnumber", "modifiedon", "createdon"})
"""Present on every row; we map them from the row itself, not as form fields."""

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ENTITY_ID = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")


class WireFormatError(ValueError):
    """The server's JSON did not have the shape Dataverse documents."""


def label_text(label: Any, default: str) -> str:
    """`{"UserLocalizedLabel": {"Label": ...}, "LocalizedLabels": [...]}` → text."""
    if isinstance(label, dict):
        user = label.get("UserLocalizedLabel")
        if isinstance(user, dict) and isinstance(user.get("Label"), str):
            return str(user["Label"])
        for item in label.get("LocalizedLabels") or ():
            if isinstance(item, dict) and isinstance(item.get("Label"), str):
                return str(item["Label"])
    return default


def _options(attribute: Mapping[str, Any]) -> tuple[PicklistOption, ...]:
    option_set = attribute.get("OptionSet") or attribute.get("GlobalOptionSet") or {}
    options = option_set.get("Options") if isinstance(option_set, dict) else None
    result = []
    for option in options or ():
        if isinstance(option, dict) and isinstance(option.get("Value"), int):
            result.append(
                PicklistOption(
                    option["Value"], label_text(option.get("Label"), str(option["Value"]))
                )
            )
    return tuple(result)


def _attribute_type(attribute: Mapping[str, Any]) -> str:
    kind = attribute.get("AttributeType")
    if isinstance(kind, str):
        return kind
    type_name = attribute.get("AttributeTypeName")
    if isinstance(type_name, dict) and isinstance(type_name.get("Value"), str):
        return str(type_name["Value"]).removesuffix("Type")
    return ""


_SERVER_DEFAULTED = frozenset({"Owner", "State", "Status", "Uniqueidentifier"})
"""SystemRequired, yet filled in by the server on create (owner = caller, state = active)."""


def _required(level: Any, kind: str, valid_for_create: bool) -> bool:
    if not valid_for_create:
        return False
    if level == "ApplicationRequired":
        return True
    return level == "SystemRequired" and kind not in _SERVER_DEFAULTED


def field_from_attribute(attribute: Mapping[str, Any]) -> FieldDef | None:
    """One AttributeMetadata → FieldDef, or None for kinds we do not sync (virtual, party lists)."""
    name = attribute.get("LogicalName")
    if not isinstance(name, str) or attribute.get("AttributeOf"):
        return None
    kind = _TYPE_MAP.get(_attribute_type(attribute))
    if kind is None:
        return None
    if kind is FieldType.TEXT:
        fmt = attribute.get("Format")
        if not isinstance(fmt, str):
            format_name = attribute.get("FormatName")
            fmt = format_name.get("Value") if isinstance(format_name, dict) else None
        if isinstance(fmt, str):
            kind = _STRING_FORMATS.get(fmt.lower(), kind)
    if kind is FieldType.DATETIME:
        fmt = attribute.get("Format")
        if isinstance(fmt, str) and fmt.lower() == "dateonly":
            kind = FieldType.DATE
    if kind is FieldType.DECIMAL and name.endswith("_latitude"):
        kind = FieldType.LATITUDE
    if kind is FieldType.DECIMAL and name.endswith("_longitude"):
        kind = FieldType.LONGITUDE
    required_level = attribute.get("RequiredLevel")
    level = required_level.get("Value") if isinstance(required_level, dict) else required_level
    valid_create = attribute.get("IsValidForCreate", True)
    valid_update = attribute.get("IsValidForUpdate", True)
    max_length = attribute.get("MaxLength")
    min_value = attribute.get("MinValue")
    max_value = attribute.get("MaxValue")
    targets = attribute.get("Targets") or ()
    return FieldDef(
        name=name,
        label=label_text(attribute.get("DisplayName"), name),
        type=kind,
        required=_required(level, _attribute_type(attribute), bool(valid_create)),
        max_length=max_length if isinstance(max_length, int) else None,
        read_only=not valid_create and not valid_update,
        options=_options(attribute),
        targets=tuple(str(t) for t in targets if isinstance(t, str)),
        min_value=float(min_value) if isinstance(min_value, int | float) else None,
        max_value=float(max_value) if isinstance(max_value, int | float) else None,
    )


def entity_def_from_metadata(
    entity: Mapping[str, Any], attributes: Iterable[Mapping[str, Any]]
) -> EntityDef:
    """EntityMetadata + its AttributeMetadata → EntityDef (latitude/longitude found by name)."""
    try:
        name = str(entity["LogicalName"])
        primary_key = str(entity["PrimaryIdAttribute"])
        primary_name = str(entity.get("PrimaryNameAttribute") or primary_key)
        entity_set = str(entity["EntitySetName"])
    except KeyError as exc:
        raise WireFormatError(f"entity metadata without {exc.args[0]}") from None
    fields: list[FieldDef] = []
    for attribute in attributes:
        mapped = field_from_attribute(attribute)
        if mapped is not None and mapped.name not in _SYSTEM_FIELDS:
            if mapped.name == primary_key:
                mapped = FieldDef(mapped.name, mapped.label, mapped.type, read_only=True)
            fields.append(mapped)
    fields.sort(key=lambda f: (f.name != primary_name, f.name != primary_key, f.name))
    names = {f.name for f in fields}
    latitude = "address1_latitude" if "address1_latitude" in names else None
    longitude = "address1_longitude" if "address1_longitude" in names else None
    if latitude is None or longitude is None:
        latitude = longitude = None
    return EntityDef(
        name=name,
        label=label_text(entity.get("DisplayName"), name.title()),
        plural_label=label_text(entity.get("DisplayCollectionName"), entity_set.title()),
        primary_key=primary_key,
        primary_name=primary_name,
        fields=tuple(fields),
        entity_set=entity_set,
        latitude_field=latitude,
        longitude_field=longitude,
    )


def select_columns(entity: EntityDef, fields: Iterable[str]) -> list[str]:
    """Our field names → `$select` names (`_x_value` for lookups); the key always included."""
    columns = [entity.primary_key]
    for name in fields:
        field = entity.field(name)
        if field is None or name == entity.primary_key:
            continue
        columns.append(f"_{name}_value" if field.type is FieldType.LOOKUP else name)
    columns.append("modifiedon")
    return columns


def parse_etag(value: Any) -> str | None:
    """`W/"2264380"` → `2264380`; the version we compare and send back in If-Match."""
    if not isinstance(value, str) or not value:
        return None
    text = value.removeprefix("W/").strip('"')
    return text or None


def etag_header(version: str) -> str:
    return f'W/"{version}"'


def _convert_in(field: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and not value.isascii():
        return _valid_text(_convert_text(field, value))
    return _convert_text(field, value)


def _valid_text(text: str) -> str:
    """`text` with each unpaired half of a UTF-16 pair as U+FFFD.

    Dataverse keeps text as UTF-16 and may cut an emoji in two at a length
    limit; JSON carries the half as `\\ud83d` and `json` turns it into a str that
    cannot be encoded, stored, shown or sent back. Only non-ASCII text is checked.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _convert_text(field: FieldDef, value: Any) -> Any:
    kind = field.type
    if kind in (FieldType.INTEGER, FieldType.PICKLIST):
        return (
            int(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )
    if kind in (FieldType.DECIMAL, FieldType.MONEY, FieldType.LATITUDE, FieldType.LONGITUDE):
        return (
            float(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else value
        )
    if kind is FieldType.DATE and isinstance(value, str):
        return value[:10]
    if kind is FieldType.DATETIME and isinstance(value, str) and "." in value:
        return value.split(".", 1)[0] + "Z"
    return value


def record_from_row(entity: EntityDef, row: Mapping[str, Any]) -> RemoteRecord:
    """A JSON row of an entity set → RemoteRecord with our field values."""
    raw_id = row.get(entity.primary_key)
    if not isinstance(raw_id, str) or not _GUID.match(raw_id):
        raise WireFormatError(f"{entity.name} row without a valid {entity.primary_key}")
    values: dict[str, Any] = {}
    for field in entity.fields:
        if field.name == entity.primary_key:
            continue
        if field.type is FieldType.LOOKUP:
            key = f"_{field.name}_value"
            if key not in row:
                continue
            target_id = row[key]
            if target_id is None:
                values[field.name] = None
                continue
            target = row.get(key + ANNOTATION_LOOKUP_ENTITY)
            if not isinstance(target, str):
                target = field.targets[0] if len(field.targets) == 1 else None
            if target is None:
                raise WireFormatError(f"lookup {field.name} without its target table")
            values[field.name] = {"entity": target, "id": str(target_id).lower()}
        elif field.name in row:
            values[field.name] = _convert_in(field, row[field.name])
    version = parse_etag(row.get("@odata.etag"))
    if version is None and row.get("versionnumber") is not None:
        version = str(row["versionnumber"])
    modified = row.get("modifiedon")
    return RemoteRecord(
        id=raw_id.lower(),
        fields=values,
        version=version,
        modified_on=str(modified) if isinstance(modified, str) else None,
    )


def navigation_name(entity: EntityDef, field: FieldDef, target: str) -> str:
    """The single-valued navigation property a lookup is written through.

    Dataverse names it after the attribute for single-target lookups
    (`primarycontactid`), after attribute and target for polymorphic ones
    (`parentcustomerid_account`) except the owner (`ownerid`, one principal
    navigation for users and teams), and additionally after the activity table for
    the `regardingobjectid` of activities (`regardingobjectid_account_task`).
    """
    if len(field.targets) <= 1 or field.name == "ownerid":
        return field.name
    if field.name == "regardingobjectid":
        return f"{field.name}_{target}_{entity.name}"
    return f"{field.name}_{target}"


SYSTEM_ENTITY_SETS = {
    "systemuser": "systemusers",
    "team": "teams",
    "businessunit": "businessunits",
    "transactioncurrency": "transactioncurrencies",
}
"""Targets of owner and system lookups, which are not among the synced tables."""


def row_from_fields(
    entity: EntityDef,
    values: Mapping[str, Any],
    entity_sets: Mapping[str, str],
    *,
    include_key: str | None = None,
) -> dict[str, Any]:
    """Our field values → a JSON body for POST/PATCH (lookups via `@odata.bind`)."""
    body: dict[str, Any] = {}
    if include_key is not None:
        body[entity.primary_key] = include_key
    for name, value in values.items():
        field = entity.field(name)
        if field is None or field.read_only or name == entity.primary_key:
            continue
        if name == "ownerid":
            # Ownership changes are an assign, not a field edit; a create gets the caller.
            continue
        if field.type is FieldType.LOOKUP:
            if value is None:
                for target in field.targets or (name,):
                    body[f"{navigation_name(entity, field, target)}@odata.bind"] = None
                    if len(field.targets) <= 1:
                        break
                continue
            if not isinstance(value, dict) or "id" not in value:
                raise WireFormatError(f"lookup {name} must be {{entity, id}}")
            target = str(value.get("entity") or (field.targets[0] if field.targets else ""))
            entity_set = entity_sets.get(target) or SYSTEM_ENTITY_SETS.get(target)
            if not entity_set:
                raise WireFormatError(f"lookup {name} points at unknown table {target}")
            body[f"{navigation_name(entity, field, target)}@odata.bind"] = (
                f"/{entity_set}({value['id']})"
            )
        else:
            body[name] = value
    return body


def id_from_entity_id_header(value: str | None) -> str | None:
    if not value:
        return None
    match = _ENTITY_ID.search(value)
    return match.group(1).lower() if match else None


def quote_literal(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def error_message(body: Any, status: int) -> str:
    """The documented `{"error": {"code", "message"}}` → one line (truncated, no payload echo)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            if isinstance(message, str) and message.strip():
                line = message.strip().splitlines()[0]
                return line[:200]
    return f"server answered {status}"
