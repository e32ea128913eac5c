"""Online mode for lists and forms: read the server page by page, save straight to it.

The interface asks the same questions online as offline (a keyset page, a
record, a save), so `OnlineRecords` is a `RecordService` whose reads and
writes go through the server while `session.sync.online` is on. Every
answer is cached in the store by the sync service, and every save is first
written locally with its outbox change: when the server cannot be reached
the change simply waits in the outbox, online mode switches itself off and
`on_fallback` tells the user, so nothing typed is ever lost.

Server paging is keyset paging expressed as an OData `$filter` on
(sort field, primary key), ordered the same way: page N costs what page 1
costs, and the local `PageCursor` carries the position, as offline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from tui_crm.domain.entities import TEXTUAL_TYPES, EntityDef, FieldType
from tui_crm.domain.errors import DomainError, RecordMissing
from tui_crm.domain.records import JsonValue, Page, PageCursor, Record
from tui_crm.services.records import RecordService

if TYPE_CHECKING:
    from tui_crm.services.session import Session

FallbackCallback = Callable[[str], None]

SORTABLE_ONLINE = TEXTUAL_TYPES | {
    FieldType.INTEGER,
    FieldType.DECIMAL,
    FieldType.MONEY,
    FieldType.BOOLEAN,
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.PICKLIST,
    FieldType.LATITUDE,
    FieldType.LONGITUDE,
}
"""Columns the server can order and compare directly (lookups read as `_x_value`)."""

_UNQUOTED_TYPES = frozenset({FieldType.DATE, FieldType.DATETIME, FieldType.UNIQUEIDENTIFIER})


class ServerUnreachable(DomainError):
    """Online mode gave up on the server for this step; the store answered instead."""


def fallback_message(error: DomainError) -> str:
    """One line: what happened, and that the work goes on offline."""
    return f"server unreachable ({error}) — now offline; edits wait in the outbox"


def odata_literal(field_type: FieldType, value: JsonValue) -> str:
    """A value as an OData literal of its column's type (strings quoted, `'` doubled)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    text = str(value)
    if field_type in _UNQUOTED_TYPES:
        if not all(char.isalnum() or char in "-:TZ." for char in text):
            raise ValueError(f"not a {field_type.value} value: {text!r}")
        return text
    return "'" + text.replace("'", "''") + "'"


def sort_column(entity: EntityDef, order: str | None) -> tuple[str, FieldType]:
    """The server column a list is ordered by: the asked field if the server can sort it."""
    if order is not None and order not in ("name", entity.primary_name):
        field = entity.field(order)
        if field is not None and field.type in SORTABLE_ONLINE:
            return field.name, field.type
    primary = entity.field(entity.primary_name)
    return entity.primary_name, primary.type if primary else FieldType.TEXT


def keyset_filter(
    entity: EntityDef, column: str, column_type: FieldType, descending: bool, after: PageCursor
) -> str:
    """Rows strictly after `after` in the order `column, primary key` (both one direction).

    The server puts nulls first ascending (SQL Server order), so "after a null"
    and "after a value" differ: ascending, every non-null follows the nulls;
    descending, the nulls come last.
    """
    key = entity.primary_key
    step = "lt" if descending else "gt"
    after_id = f"{key} {step} {odata_literal(FieldType.UNIQUEIDENTIFIER, after.id)}"
    if after.sort_value is None:
        same = f"({column} eq null and {after_id})"
        return same if descending else f"({same} or {column} ne null)"
    value = odata_literal(column_type, after.sort_value)
    beyond = f"{column} {step} {value} or ({column} eq {value} and {after_id})"
    return f"({beyond} or {column} eq null)" if descending else f"({beyond})"


def search_filter(entity: EntityDef, text: str) -> str:
    """Every typed word must appear in the primary name (the server's `contains`)."""
    words = [word for word in text.split() if word]
    return " and ".join(
        f"contains({entity.primary_name},{odata_literal(FieldType.TEXT, word)})" for word in words
    )


def server_page_request(
    entity: EntityDef,
    *,
    search: str | None,
    order: str | None,
    descending: bool,
    after: PageCursor | None,
) -> tuple[str, str, str]:
    """(`$filter`, `$orderby` without the last direction, sort column) for one server page.

    The connector appends the direction to the last `$orderby` key, so the
    sort column gets its direction here and the primary key gets it there.
    """
    column, column_type = sort_column(entity, order)
    parts = []
    if search and search.strip():
        parts.append(search_filter(entity, search))
    if after is not None:
        parts.append(keyset_filter(entity, column, column_type, descending, after))
    direction = "desc" if descending else "asc"
    return " and ".join(parts), f"{column} {direction},{entity.primary_key}", column


class OnlineRecords(RecordService):
    """`RecordService` that asks the server first while online mode is on."""

    def __init__(self, session: Session, on_fallback: FallbackCallback | None = None) -> None:
        super().__init__(session)
        self._sync = session.sync
        self._on_fallback = on_fallback

    @property
    def online(self) -> bool:
        return self._sync.online

    def _fell_back(self, error: DomainError) -> None:
        self._sync.online = False
        if self._on_fallback is not None:
            self._on_fallback(fallback_message(error))

    async def list(
        self,
        entity: str,
        *,
        search: str | None = None,
        order: str | None = None,
        descending: bool = False,
        after: PageCursor | None = None,
        limit: int = 50,
    ) -> Page:
        if self.online:
            try:
                return await self._server_page(entity, search, order, descending, after, limit)
            except DomainError as error:
                self._fell_back(error)
        return await super().list(
            entity, search=search, order=order, descending=descending, after=after, limit=limit
        )

    async def _server_page(
        self,
        entity: str,
        search: str | None,
        order: str | None,
        descending: bool,
        after: PageCursor | None,
        limit: int,
    ) -> Page:
        definition = await self.entity(entity)
        filter_text, order_by, column = server_page_request(
            definition, search=search, order=order, descending=descending, after=after
        )
        records = await self._sync.query(
            entity, filter=filter_text, order=order_by, descending=descending, top=limit
        )
        if not self._sync.online:  # the sync service answered from the store
            raise ServerUnreachable("no answer")
        next_cursor = None
        if len(records) >= limit and records:
            last = records[-1]
            next_cursor = PageCursor(last.fields.get(column), last.id)
        return Page(records, next_cursor, extra={"source": "server"})

    async def get(self, entity: str, record_id: str) -> Record:
        if self.online:
            try:
                record = await self._sync.get(entity, record_id)
            except DomainError as error:
                if isinstance(error, RecordMissing):
                    raise
                self._fell_back(error)
            else:
                if not self._sync.online:  # the sync service answered from the store
                    self._fell_back(ServerUnreachable("no answer"))
                return record
        return await super().get(entity, record_id)

    async def create(self, entity: str, values: Mapping[str, JsonValue]) -> Record:
        record = await super().create(entity, values)
        return await self._push(record)

    async def update(self, entity: str, record_id: str, values: Mapping[str, JsonValue]) -> Record:
        record = await super().update(entity, record_id, values)
        return await self._push(record)

    async def delete(self, entity: str, record_id: str) -> None:
        await super().delete(entity, record_id)
        if self.online:
            try:
                await self._sync.push_record(entity, record_id)
            except DomainError as error:
                self._fell_back(error)

    async def _push(self, record: Record) -> Record:
        """The local write is done (and in the outbox); now send it with If-Match."""
        if not self.online:
            return record
        try:
            await self._sync.push_record(record.entity, record.id)
        except DomainError as error:
            self._fell_back(error)
            return record
        return await super().get(record.entity, record.id)
