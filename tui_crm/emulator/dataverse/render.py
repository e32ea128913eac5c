"""Rows -> the JSON Dataverse writes, including the annotations a client may ask for.

Fragments without annotations are cached on the row per `$select`, so a page of
5000 rows is mostly a join of ready bytes. Annotated fragments are built fresh
because they carry the current names of looked-up records.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from tui_crm.emulator.dataverse.data import DataStore, Row
from tui_crm.emulator.dataverse.metadata import OPTION_TYPES, Attr, Table, option_label
from tui_crm.emulator.dataverse.odata import parse_datetime

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"

_CACHE_LIMIT = 3


@dataclass(frozen=True)
class Annotations:
    """Which instance annotations `Prefer: odata.include-annotations` asked for."""

    formatted: bool = False
    lookup_name: bool = False
    navigation: bool = False

    @property
    def any(self) -> bool:
        return self.formatted or self.lookup_name or self.navigation

    @classmethod
    def from_patterns(cls, patterns: tuple[str, ...]) -> Annotations:
        def wanted(term: str) -> bool:
            return any(fnmatch.fnmatchcase(term, pattern) for pattern in patterns)

        return cls(wanted(FORMATTED), wanted(LOOKUP_NAME), wanted(NAVIGATION))

    def header(self, patterns: tuple[str, ...]) -> str:
        return 'odata.include-annotations="' + ",".join(patterns) + '"'


NO_ANNOTATIONS = Annotations()


def row_fragment(
    store: DataStore,
    table: Table,
    row: Row,
    select: tuple[str, ...] | None,
    annotations: Annotations = NO_ANNOTATIONS,
) -> bytes:
    """One record as a JSON object (bytes), etag first, the key always present."""
    if not annotations.any:
        cached = row.cache.get(select)
        if cached is not None:
            return cached
    document = row_document(store, table, row, select, annotations)
    try:
        encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # Text holding half of a UTF-16 pair (Dataverse stores UTF-16 and can cut an
        # emoji at a length limit): escaped as \uXXXX, as Dataverse's own JSON does.
        encoded = json.dumps(document, separators=(",", ":")).encode()
    if not annotations.any:
        if len(row.cache) >= _CACHE_LIMIT:
            row.cache.clear()
        row.cache[select] = encoded
    return encoded


def row_document(
    store: DataStore,
    table: Table,
    row: Row,
    select: tuple[str, ...] | None,
    annotations: Annotations = NO_ANNOTATIONS,
) -> dict[str, Any]:
    document: dict[str, Any] = {"@odata.etag": row.etag}
    names = select if select is not None else tuple(a.wire_name for a in table.attrs)
    wire = table.wire_attrs()
    for name in names:
        value = row.values.get(name)
        attr = wire.get(name)
        if annotations.any and attr is not None and value is not None:
            _annotate(document, store, table, row, attr, value, annotations)
        document[name] = value
    if table.primary_id not in document:
        document[table.primary_id] = row.id
    return document


def _annotate(
    document: dict[str, Any],
    store: DataStore,
    table: Table,
    row: Row,
    attr: Attr,
    value: Any,
    annotations: Annotations,
) -> None:
    name = attr.wire_name
    if attr.is_lookup:
        target = row.targets.get(name)
        if annotations.formatted and target is not None:
            formatted = store.primary_name(target, value)
            if formatted is not None:
                document[f"{name}@{FORMATTED}"] = formatted
        if annotations.navigation and target is not None:
            document[f"{name}@{NAVIGATION}"] = table.nav_property(attr, target)
        if annotations.lookup_name and target is not None:
            document[f"{name}@{LOOKUP_NAME}"] = target
        return
    if annotations.formatted:
        formatted = format_value(attr, value)
        if formatted is not None:
            document[f"{name}@{FORMATTED}"] = formatted


def format_value(attr: Attr, value: Any) -> str | None:
    """The en-US display text the service puts in the FormattedValue annotation."""
    kind = attr.kind
    if kind in OPTION_TYPES or kind == "Boolean":
        return option_label(attr, value)
    if kind == "Money":
        return f"${float(value):,.2f}"
    if kind in ("Integer", "BigInt"):
        return f"{int(value):,}"
    if kind in ("Double", "Decimal"):
        precision = attr.precision if attr.precision is not None else 2
        return f"{float(value):,.{precision}f}"
    if kind == "DateTime":
        if attr.fmt == "DateOnly":
            day = date.fromisoformat(str(value)[:10])
            return f"{day.month}/{day.day}/{day.year}"
        moment = parse_datetime(str(value))
        hour = moment.hour % 12 or 12
        suffix = "AM" if moment.hour < 12 else "PM"
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {suffix}"
    return None
