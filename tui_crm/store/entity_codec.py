"""EntityDef <-> JSON, as kept in the `entities` table.

Definitions come from the standard schema now and from backend metadata later;
storing them as data (not code) is what lets a server's custom field appear in
forms without a release.
"""

from __future__ import annotations

import json
from typing import Any

from tui_crm.domain.entities import EntityDef, FieldDef, FieldType, PicklistOption


def field_to_json(field: FieldDef) -> dict[str, Any]:
    data: dict[str, Any] = {"name": field.name, "label": field.label, "type": field.type.value}
    if field.required:
        data["required"] = True
    if field.max_length is not None:
        data["max_length"] = field.max_length
    if field.read_only:
        data["read_only"] = True
    if field.options:
        data["options"] = [[option.value, option.label] for option in field.options]
    if field.targets:
        data["targets"] = list(field.targets)
    if field.min_value is not None:
        data["min_value"] = field.min_value
    if field.max_value is not None:
        data["max_value"] = field.max_value
    return data


def field_from_json(data: dict[str, Any]) -> FieldDef:
    return FieldDef(
        name=str(data["name"]),
        label=str(data.get("label", data["name"])),
        type=FieldType(data["type"]),
        required=bool(data.get("required", False)),
        max_length=data.get("max_length"),
        read_only=bool(data.get("read_only", False)),
        options=tuple(PicklistOption(int(v), str(label)) for v, label in data.get("options", ())),
        targets=tuple(str(t) for t in data.get("targets", ())),
        min_value=data.get("min_value"),
        max_value=data.get("max_value"),
    )


def entity_to_json(entity: EntityDef) -> str:
    data = {
        "name": entity.name,
        "label": entity.label,
        "plural_label": entity.plural_label,
        "primary_key": entity.primary_key,
        "primary_name": entity.primary_name,
        "entity_set": entity.entity_set,
        "latitude_field": entity.latitude_field,
        "longitude_field": entity.longitude_field,
        "list_columns": list(entity.list_columns),
        "fields": [field_to_json(f) for f in entity.fields],
    }
    return json.dumps(data, separators=(",", ":"))


def entity_from_json(text: str) -> EntityDef:
    data = json.loads(text)
    return EntityDef(
        name=str(data["name"]),
        label=str(data["label"]),
        plural_label=str(data["plural_label"]),
        primary_key=str(data["primary_key"]),
        primary_name=str(data["primary_name"]),
        fields=tuple(field_from_json(f) for f in data["fields"]),
        entity_set=str(data.get("entity_set", "")),
        latitude_field=data.get("latitude_field"),
        longitude_field=data.get("longitude_field"),
        list_columns=tuple(data.get("list_columns", ())),
    )
