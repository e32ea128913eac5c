"""In-memory tables with org-wide row versions, tombstones and a change log.

Why this shape: the sync benchmark pulls 100k rows, so every page must cost
O(page), not O(table). Rows are kept in key order (a sorted id list, bisected
by the skiptoken's last id), and each row caches its serialised JSON per
`$select`. Change tracking reads an append-only log of (version, id) that is
bisected by the delta token's version; a log entry counts only while it is
still the latest version of its row (or of its tombstone), so rolled-back
change sets and superseded edits need no log surgery.

All access goes through one re-entrant lock: the HTTP handlers run on the
server's event loop thread while tests change data from their own thread.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tui_crm.emulator.dataverse.errors import CONCURRENCY, DUPLICATE, ODataError, record_missing
from tui_crm.emulator.dataverse.metadata import TABLES, TABLES_BY_NAME, Table

Values = dict[str, Any]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Dataverse writes datetimes as UTC without fractions: 2024-06-12T14:13:25Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Row:
    """One record: wire-named values (lookups as `_x_value`) plus their target tables."""

    id: str
    values: Values
    targets: dict[str, str]
    version: int
    cache: dict[Any, bytes] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'


@dataclass(frozen=True)
class Deleted:
    """A tombstone as change tracking reports it."""

    id: str
    version: int


@dataclass
class EntityTable:
    table: Table
    rows: dict[str, Row] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    tombstones: dict[str, int] = field(default_factory=dict)
    log_versions: list[int] = field(default_factory=list)
    log_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LookupWrite:
    """A lookup set through `@odata.bind` (target None clears it)."""

    target: str | None
    target_id: str | None


class DataStore:
    """Every table of the org, the version counter, and the reverse lookup index."""

    def __init__(self, *, clock: Clock = utc_now, first_version: int = 1_000_000) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.version = first_version
        self.tables: dict[str, EntityTable] = {t.logical: EntityTable(t) for t in TABLES}
        # target id -> {(table, row id, wire name)}: who points here, for RemoveLink on delete.
        self.referrers: dict[str, set[tuple[str, str, str]]] = {}
        self._undo: list[Callable[[], None]] | None = None
        self._bulk = False

    # --- reading -------------------------------------------------------------

    def entity(self, logical: str) -> EntityTable:
        return self.tables[logical]

    def get(self, logical: str, record_id: str) -> Row:
        with self.lock:
            row = self.tables[logical].rows.get(record_id)
            if row is None:
                raise record_missing(logical, record_id)
            return row

    def find(self, logical: str, record_id: str) -> Row | None:
        with self.lock:
            return self.tables[logical].rows.get(record_id)

    def primary_name(self, logical: str, record_id: str) -> str | None:
        table = TABLES_BY_NAME.get(logical)
        row = self.tables[logical].rows.get(record_id) if table else None
        if table is None or row is None:
            return None
        value = row.values.get(table.primary_name)
        return value if isinstance(value, str) else None

    def scan(self, logical: str, after_id: str | None) -> Iterator[Row]:
        """Rows in key order after `after_id` (exclusive): the O(page) paging walk."""
        entity = self.tables[logical]
        start = 0 if after_id is None else bisect.bisect_right(entity.order, after_id)
        order = entity.order
        rows = entity.rows
        for index in range(start, len(order)):
            row = rows.get(order[index])
            if row is not None:
                yield row

    def changes_since(
        self, logical: str, after_version: int, upto_version: int
    ) -> Iterator[Row | Deleted]:
        """Latest state of each row changed in (after, upto], in version order."""
        entity = self.tables[logical]
        start = bisect.bisect_right(entity.log_versions, after_version)
        for index in range(start, len(entity.log_versions)):
            version = entity.log_versions[index]
            if version > upto_version:
                return
            record_id = entity.log_ids[index]
            row = entity.rows.get(record_id)
            if row is not None and row.version == version:
                yield row
            elif row is None and entity.tombstones.get(record_id) == version:
                yield Deleted(record_id, version)

    # --- writing -------------------------------------------------------------

    def _next_version(self) -> int:
        self.version += 1
        return self.version

    def _log(self, entity: EntityTable, record_id: str, version: int) -> None:
        entity.log_versions.append(version)
        entity.log_ids.append(record_id)

    def _remember(self, entity: EntityTable, record_id: str) -> None:
        """Inside a change set, note how to put this row back if the set fails."""
        if self._undo is None:
            return
        old_row = entity.rows.get(record_id)
        old_tomb = entity.tombstones.get(record_id)

        def undo() -> None:
            current = entity.rows.get(record_id)
            if current is not None:
                self._unindex(entity.table, current)
            if old_row is None:
                if record_id in entity.rows:
                    del entity.rows[record_id]
                    position = bisect.bisect_left(entity.order, record_id)
                    if position < len(entity.order) and entity.order[position] == record_id:
                        entity.order.pop(position)
            else:
                if record_id not in entity.rows:
                    bisect.insort(entity.order, record_id)
                entity.rows[record_id] = old_row
                self._index(entity.table, old_row)
            if old_tomb is None:
                entity.tombstones.pop(record_id, None)
            else:
                entity.tombstones[record_id] = old_tomb

        self._undo.append(undo)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A change set: all writes inside stand, or none do."""
        with self.lock:
            outer = self._undo
            self._undo = []
            try:
                yield
            except BaseException:
                for undo in reversed(self._undo):
                    undo()
                raise
            finally:
                if outer is not None and self._undo is not None:
                    outer.extend(self._undo)
                self._undo = outer

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Seeding: append ids unsorted and sort once, instead of an insort per row."""
        with self.lock:
            self._bulk = True
            try:
                yield
            finally:
                self._bulk = False
                for entity in self.tables.values():
                    entity.order.sort()

    def _index(self, table: Table, row: Row) -> None:
        for wire in row.targets:
            target_id = row.values.get(wire)
            if isinstance(target_id, str):
                self.referrers.setdefault(target_id, set()).add((table.logical, row.id, wire))

    def _unindex(self, table: Table, row: Row) -> None:
        for wire in row.targets:
            target_id = row.values.get(wire)
            if isinstance(target_id, str):
                holders = self.referrers.get(target_id)
                if holders is not None:
                    holders.discard((table.logical, row.id, wire))
                    if not holders:
                        del self.referrers[target_id]

    def _check_lookups(self, lookups: Mapping[str, LookupWrite]) -> None:
        for write in lookups.values():
            if write.target is None or write.target_id is None:
                continue
            if write.target_id not in self.tables[write.target].rows:
                raise record_missing(write.target, write.target_id)

    def insert(
        self,
        logical: str,
        record_id: str,
        values: Values,
        lookups: Mapping[str, LookupWrite],
        *,
        user_id: str,
        defaults: Values | None = None,
        verify_lookups: bool = True,
    ) -> Row:
        """Create a row (client-chosen id allowed); an existing id is a 412 DuplicateRecord."""
        with self.lock:
            entity = self.tables[logical]
            if record_id in entity.rows:
                raise ODataError(
                    412, DUPLICATE, "A record with matching key values already exists."
                )
            if verify_lookups:
                self._check_lookups(lookups)
            self._remember(entity, record_id)
            table = entity.table
            full: Values = dict.fromkeys(table.wire_attrs())
            targets: dict[str, str] = {}
            if defaults:
                full.update(defaults)
            full.update(values)
            for wire, write in lookups.items():
                full[wire] = write.target_id
                if write.target is not None:
                    targets[wire] = write.target
            now = iso(self.clock())
            version = self._next_version()
            full[table.primary_id] = record_id
            for column, value in (("createdon", now), ("modifiedon", now)):
                if column in full:
                    full[column] = value
            for wire in ("_createdby_value", "_modifiedby_value"):
                if wire in full:
                    full[wire] = user_id
                    targets[wire] = "systemuser"
            if "_ownerid_value" in full and full["_ownerid_value"] is None:
                full["_ownerid_value"] = user_id
                targets["_ownerid_value"] = "systemuser"
            if "versionnumber" in full:
                full["versionnumber"] = version
            _computed(table, full)
            row = Row(record_id, full, targets, version)
            entity.rows[record_id] = row
            entity.tombstones.pop(record_id, None)
            if self._bulk:
                entity.order.append(record_id)
            else:
                bisect.insort(entity.order, record_id)
            self._index(table, row)
            self._log(entity, record_id, version)
            return row

    def update(
        self,
        logical: str,
        record_id: str,
        values: Values,
        lookups: Mapping[str, LookupWrite],
        *,
        user_id: str,
        if_match: str | None = None,
    ) -> Row:
        """Change named columns; a stale `If-Match` etag is the 412 the service sends."""
        with self.lock:
            entity = self.tables[logical]
            current = entity.rows.get(record_id)
            if current is None:
                raise record_missing(logical, record_id)
            check_etag(current, if_match)
            self._check_lookups(lookups)
            self._remember(entity, record_id)
            table = entity.table
            full = dict(current.values)
            targets = dict(current.targets)
            full.update(values)
            for wire, write in lookups.items():
                full[wire] = write.target_id
                if write.target is None:
                    targets.pop(wire, None)
                else:
                    targets[wire] = write.target
            version = self._next_version()
            if "modifiedon" in full:
                full["modifiedon"] = iso(self.clock())
            if "_modifiedby_value" in full:
                full["_modifiedby_value"] = user_id
                targets["_modifiedby_value"] = "systemuser"
            if "versionnumber" in full:
                full["versionnumber"] = version
            _computed(table, full)
            row = Row(record_id, full, targets, version)
            self._unindex(table, current)
            entity.rows[record_id] = row
            self._index(table, row)
            self._log(entity, record_id, version)
            return row

    def delete(self, logical: str, record_id: str, *, if_match: str | None = None) -> None:
        """Delete and leave a tombstone; lookups pointing here are cleared (RemoveLink)."""
        with self.lock:
            entity = self.tables[logical]
            current = entity.rows.get(record_id)
            if current is None:
                raise record_missing(logical, record_id)
            check_etag(current, if_match)
            self._remember(entity, record_id)
            self._unindex(entity.table, current)
            del entity.rows[record_id]
            position = bisect.bisect_left(entity.order, record_id)
            if position < len(entity.order) and entity.order[position] == record_id:
                entity.order.pop(position)
            version = self._next_version()
            entity.tombstones[record_id] = version
            self._log(entity, record_id, version)
            for holder_table, holder_id, wire in sorted(self.referrers.pop(record_id, set())):
                holder = self.tables[holder_table].rows.get(holder_id)
                if holder is not None and holder.values.get(wire) == record_id:
                    self._remember(self.tables[holder_table], holder_id)
                    self._clear_link(holder_table, holder, wire)

    def _clear_link(self, logical: str, holder: Row, wire: str) -> None:
        entity = self.tables[logical]
        values = dict(holder.values)
        targets = dict(holder.targets)
        values[wire] = None
        targets.pop(wire, None)
        version = self._next_version()
        if "versionnumber" in values:
            values["versionnumber"] = version
        row = Row(holder.id, values, targets, version)
        self._unindex(entity.table, holder)
        entity.rows[holder.id] = row
        self._index(entity.table, row)
        self._log(entity, holder.id, version)

    def count(self, logical: str) -> int:
        with self.lock:
            return len(self.tables[logical].rows)


def check_etag(row: Row, if_match: str | None) -> None:
    """`If-Match: *` matches any existing row; otherwise the weak etag must be current."""
    if if_match is None:
        return
    candidates = [part.strip() for part in if_match.split(",")]
    if "*" in candidates or row.etag in candidates or f'"{row.version}"' in candidates:
        return
    raise ODataError(
        412,
        CONCURRENCY,
        "The version of the existing record doesn't match the RowVersion property provided.",
    )


def _computed(table: Table, values: Values) -> None:
    """Columns the server derives: full names, composite addresses, note file sizes."""
    if "fullname" in values and ("firstname" in values or "lastname" in values):
        parts = [values.get("firstname"), values.get("lastname")]
        values["fullname"] = " ".join(p for p in parts if p) or None
    if "address1_composite" in values:
        lines = [
            values.get("address1_line1"),
            values.get("address1_line2"),
            " ".join(
                p
                for p in (
                    values.get("address1_city"),
                    values.get("address1_stateorprovince"),
                    values.get("address1_postalcode"),
                )
                if p
            ),
            values.get("address1_country"),
        ]
        values["address1_composite"] = "\r\n".join(p for p in lines if p) or None
    if table.logical == "annotation":
        body = values.get("documentbody")
        values["filesize"] = (len(body) * 3) // 4 - body.count("=", -2) if body else None


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
