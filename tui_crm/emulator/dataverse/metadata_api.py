"""`EntityDefinitions` queries: the entity list, one entity, its Attributes (with the typed
casts that expand OptionSet) and ManyToOneRelationships.

Supported: `EntityDefinitions`, `EntityDefinitions(LogicalName='x')` or `(<MetadataId>)`,
`/Attributes`, `/Attributes(LogicalName='y')`, `/Attributes/Microsoft.Dynamics.CRM.<Type>`,
`/ManyToOneRelationships`, `/Keys`; `$select`, `$filter` on top-level properties, and
`$expand=Attributes(...)`, `$expand=OptionSet,GlobalOptionSet`. Metadata is not paged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tui_crm.emulator.dataverse.errors import NOT_SUPPORTED, ODataError
from tui_crm.emulator.dataverse.metadata import (
    TABLES,
    Table,
    attribute_json,
    entity_json,
    many_to_one_json,
    metadata_id,
)
from tui_crm.emulator.dataverse.odata import bad_query, parse_filter
from tui_crm.emulator.dataverse.webapi import ApiRequest, ApiResponse, dump, json_response

JsonObject = dict[str, Any]

_PATH = re.compile(
    r"^EntityDefinitions"
    r"(?:\((?P<entity>[^)]*)\))?"
    r"(?:/(?P<nav>Attributes|ManyToOneRelationships|OneToManyRelationships|Keys)"
    r"(?:\((?P<attr>[^)]*)\))?"
    r"(?:/Microsoft\.Dynamics\.CRM\.(?P<cast>\w+))?)?$"
)
_KEY = re.compile(r"^(?:LogicalName=)?'?([^']*)'?$")


def _find_table(key: str) -> Table:
    match = _KEY.match(key.strip())
    wanted = (match.group(1) if match else key).lower()
    for table in TABLES:
        if wanted in (table.logical, metadata_id(table.logical)):
            return table
    raise ODataError(404, "0x80040217", f"Could not find entity with name or id '{wanted}'.")


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses: `Attributes($select=a,b),Keys`."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _expands(text: str | None) -> dict[str, dict[str, str]]:
    """`Attributes($select=a,b;$filter=x)` -> {"Attributes": {"$select": "a,b", ...}}."""
    result: dict[str, dict[str, str]] = {}
    if not text:
        return result
    for part in _split_top(text):
        name, _, rest = part.partition("(")
        options: dict[str, str] = {}
        for option in rest.rstrip(")").split(";") if rest else []:
            key, _, value = option.partition("=")
            if key.strip():
                options[key.strip()] = value.strip()
        result[name.strip()] = options
    return result


def _project(item: JsonObject, select: str | None, always: tuple[str, ...]) -> JsonObject:
    if not select:
        return item
    names = [n.strip() for n in select.split(",") if n.strip()]
    return {k: v for k, v in item.items() if k in names or k in always}


def _filtered(items: list[JsonObject], text: str | None) -> list[JsonObject]:
    if not text:
        return items

    # Metadata filters compare top-level properties; nested ones (a/b) read through dicts.
    def read(item: JsonObject, name: str) -> Any:
        value: Any = item
        for part in name.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    predicate = parse_filter(text, lambda name: "any", "EntityMetadata")
    return [item for item in items if predicate(_Flat(item, read))]


class _Flat(dict[str, Any]):
    """A read-only view that resolves `a/b` paths for the filter predicate."""

    def __init__(self, item: JsonObject, read: Callable[[JsonObject, str], Any]) -> None:
        super().__init__()
        self._item = item
        self._read = read

    def get(self, key: str, default: Any = None) -> Any:
        value = self._read(self._item, key)
        return default if value is None else value


_CASTS = {
    "PicklistAttributeMetadata": ("Picklist",),
    "StateAttributeMetadata": ("State",),
    "StatusAttributeMetadata": ("Status",),
    "BooleanAttributeMetadata": ("Boolean",),
    "LookupAttributeMetadata": ("Lookup", "Customer", "Owner"),
    "StringAttributeMetadata": ("String",),
    "MemoAttributeMetadata": ("Memo",),
    "DateTimeAttributeMetadata": ("DateTime",),
    "IntegerAttributeMetadata": ("Integer",),
    "DoubleAttributeMetadata": ("Double",),
    "MoneyAttributeMetadata": ("Money",),
    "DecimalAttributeMetadata": ("Decimal",),
    "EnumAttributeMetadata": ("Picklist", "State", "Status"),
}


def _attributes(
    table: Table, cast: str | None, options: dict[str, str], expand: dict[str, dict[str, str]]
) -> list[JsonObject]:
    kinds: tuple[str, ...] | None = None
    if cast is not None:
        if cast not in _CASTS:
            raise ODataError(404, NOT_SUPPORTED, f"Resource not found for the segment '{cast}'.")
        kinds = _CASTS[cast]
    with_options = "OptionSet" in expand
    if with_options and kinds is None:
        raise bad_query(
            "Could not find a property named 'OptionSet' on type "
            "'Microsoft.Dynamics.CRM.AttributeMetadata'."
        )
    items = [
        attribute_json(table, attr, with_options=with_options)
        for attr in table.attrs
        if kinds is None or attr.kind in kinds
    ]
    items = _filtered(items, options.get("$filter"))
    always = ("MetadataId", "@odata.type", "OptionSet", "GlobalOptionSet")
    projected = [_project(item, options.get("$select"), always) for item in items]
    if with_options and "GlobalOptionSet" not in expand:
        for item in projected:
            item.pop("GlobalOptionSet", None)
    return projected


def handle_metadata(request: ApiRequest) -> ApiResponse:
    if request.method != "GET":
        raise ODataError(405, NOT_SUPPORTED, "Metadata is read-only in this emulator.")
    match = _PATH.match(request.path.strip("/"))
    if match is None:
        raise ODataError(
            404, NOT_SUPPORTED, f"Resource not found for the segment '{request.path}'."
        )
    query = request.query
    expand = _expands(query.get("$expand"))
    root = request.root
    entity_key, nav = match.group("entity"), match.group("nav")
    if entity_key is None:
        if nav is not None:
            raise ODataError(
                404, NOT_SUPPORTED, "Resource not found for the segment 'EntityDefinitions'."
            )
        items = [_entity(table, query.get("$select"), expand) for table in TABLES]
        items = _filtered(items, query.get("$filter"))
        return json_response(
            200,
            dump(
                {
                    "@odata.context": f"{root}$metadata#EntityDefinitions",
                    "value": items,
                }
            ),
        )
    table = _find_table(entity_key)
    context = f"{root}$metadata#EntityDefinitions('{table.logical}')"
    if nav is None:
        body = {"@odata.context": f"{root}$metadata#EntityDefinitions/$entity"}
        body.update(_entity(table, query.get("$select"), expand))
        return json_response(200, dump(body))
    if nav == "Attributes":
        attributes = _attributes(
            table,
            match.group("cast"),
            {"$select": query.get("$select", ""), "$filter": query.get("$filter", "")},
            expand,
        )
        attr_key = match.group("attr")
        if attr_key is not None:
            wanted = (_KEY.match(attr_key.strip()) or re.match("(.*)", attr_key)).group(1).lower()  # type: ignore[union-attr]
            found = [
                a for a in attributes if a.get("LogicalName") == wanted or a["MetadataId"] == wanted
            ]
            if not found:
                raise ODataError(404, "0x80040217", f"Could not find attribute '{wanted}'.")
            return json_response(
                200, dump({"@odata.context": f"{context}/Attributes/$entity", **found[0]})
            )
        return json_response(
            200, dump({"@odata.context": f"{context}/Attributes", "value": attributes})
        )
    if nav == "ManyToOneRelationships":
        items = _filtered(many_to_one_json(table), query.get("$filter"))
        items = [_project(i, query.get("$select"), ("MetadataId",)) for i in items]
        return json_response(
            200, dump({"@odata.context": f"{context}/ManyToOneRelationships", "value": items})
        )
    return json_response(200, dump({"@odata.context": f"{context}/{nav}", "value": []}))


def _entity(table: Table, select: str | None, expand: dict[str, dict[str, str]]) -> JsonObject:
    item = _project(entity_json(table), select, ("MetadataId",))
    if "Attributes" in expand:
        item["Attributes"] = _attributes(table, None, expand["Attributes"], {})
    if "ManyToOneRelationships" in expand:
        item["ManyToOneRelationships"] = [
            _project(r, expand["ManyToOneRelationships"].get("$select"), ("MetadataId",))
            for r in many_to_one_json(table)
        ]
    return item
