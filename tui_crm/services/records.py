"""RecordService: the async face of local records that the interface and CLI await.

Every method ships its work to the DB thread through the session; nothing
here touches the database from the event loop.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui_crm.domain.changes import Change
from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import RecordMissing, ValidationFailed
from tui_crm.domain.records import JsonValue, Page, PageCursor, Record
from tui_crm.domain.values import parse_input as parse_field_input
from tui_crm.store import bulk, listing, outbox
from tui_crm.store import entities as entity_store
from tui_crm.store import records as record_store
from tui_crm.store.database import Connection, transaction

if TYPE_CHECKING:
    from tui_crm.services.session import Session

EXPORT_PAGE = 500


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Outcome of an all-or-nothing import; `errors` maps 1-based row number to field problems.

    When `errors` is not empty nothing was written.
    """

    created: int = 0
    updated: int = 0
    errors: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class _ImportRejected(Exception):
    """Unwinds the import transaction when any row is invalid."""


class RecordService:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def entities(self) -> builtins.list[EntityDef]:
        return await self._session.run(entity_store.load_entities)

    async def entity(self, name: str) -> EntityDef:
        return await self._session.run(lambda conn: entity_store.load_entity(conn, name))

    async def counts(self) -> dict[str, int]:
        return await self._session.run(record_store.count_records)

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
        def work(conn: Connection) -> Page:
            definition = entity_store.load_entity(conn, entity)
            return listing.list_records(
                conn,
                definition,
                search=search,
                order=order,
                descending=descending,
                after=after,
                limit=limit,
            )

        return await self._session.run(work)

    async def search(
        self, entity: str, text: str, *, after: PageCursor | None = None, limit: int = 50
    ) -> Page:
        return await self.list(entity, search=text, after=after, limit=limit)

    async def get(self, entity: str, record_id: str) -> Record:
        def work(conn: Connection) -> Record:
            entity_store.load_entity(conn, entity)
            return record_store.get_record(conn, entity, record_id)

        return await self._session.run(work)

    async def create(self, entity: str, values: Mapping[str, JsonValue]) -> Record:
        now = self._session.now()

        def work(conn: Connection) -> Record:
            definition = entity_store.load_entity(conn, entity)
            return record_store.create_record(conn, definition, values, now=now)

        return await self._session.write(work)

    async def update(self, entity: str, record_id: str, values: Mapping[str, JsonValue]) -> Record:
        now = self._session.now()

        def work(conn: Connection) -> Record:
            definition = entity_store.load_entity(conn, entity)
            return record_store.update_record(conn, definition, record_id, values, now=now)

        return await self._session.write(work)

    async def save(
        self, entity: str, record_id: str | None, values: Mapping[str, JsonValue]
    ) -> Record:
        """Create when `record_id` is None, else update: what a form's Save does."""
        if record_id is None:
            return await self.create(entity, values)
        return await self.update(entity, record_id, values)

    async def delete(self, entity: str, record_id: str) -> None:
        now = self._session.now()

        def work(conn: Connection) -> None:
            definition = entity_store.load_entity(conn, entity)
            record_store.delete_record(conn, definition, record_id, now=now)

        await self._session.write(work)

    async def related(self, entity: str, record_id: str) -> builtins.list[Record]:
        def work(conn: Connection) -> builtins.list[Record]:
            record_store.get_record(conn, entity, record_id)
            return record_store.related_records(conn, entity, record_id)

        return await self._session.run(work)

    async def outbox(self) -> builtins.list[Change]:
        return await self._session.run(outbox.list_changes)

    async def import_rows(self, entity: str, rows: builtins.list[dict[str, Any]]) -> ImportReport:
        """Create or update (a row with the primary key or `id` updates) all rows, or none.

        Updates are applied row by row; new rows (the store makes their ids, so
        no other row can point at them) are written in bulk once every row has
        been checked. All of it is one transaction.
        """
        now = self._session.now()

        def work(conn: Connection) -> ImportReport:
            definition = entity_store.load_entity(conn, entity)
            updated = 0
            errors: dict[int, dict[str, str]] = {}
            new_rows: list[tuple[int, dict[str, JsonValue]]] = []
            try:
                with transaction(conn):
                    for number, row in enumerate(rows, start=1):
                        try:
                            record_id, values = _parse_import_row(definition, row)
                            if record_id is None:
                                new_rows.append((number, values))
                            else:
                                record_store.update_record(
                                    conn, definition, record_id, values, now=now
                                )
                                updated += 1
                        except ValidationFailed as exc:
                            errors[number] = exc.errors
                        except RecordMissing:
                            errors[number] = {definition.primary_key: "no record with this id"}
                    # New rows go in with one executemany per table, after every
                    # row has been checked, so all bad rows are reported at once.
                    new_values = [values for _, values in new_rows]
                    for offset, problems in bulk.invalid_rows(conn, definition, new_values).items():
                        errors[new_rows[offset][0]] = problems
                    if errors:
                        raise _ImportRejected
                    bulk.insert_many(conn, definition, new_values, now=now, validated=True)
            except _ImportRejected:
                return ImportReport(errors=dict(sorted(errors.items())))
            return ImportReport(created=len(new_rows), updated=updated)

        return await self._session.run(work)

    async def export(self, entity: str) -> AsyncIterator[Record]:
        """Every record of the entity in name order, fetched page by page."""
        after: PageCursor | None = None
        while True:
            page = await self.list(entity, after=after, limit=EXPORT_PAGE)
            for record in page.records:
                yield record
            if page.next_cursor is None:
                return
            after = page.next_cursor

    @staticmethod
    def parse_input(entity_def: EntityDef, field_name: str, text: str) -> JsonValue:
        """Typed text to a JSON value; ValueError (a user message) if invalid or unknown."""
        definition = entity_def.field(field_name)
        if definition is None:
            raise ValueError(f"no such field on {entity_def.name}")
        return parse_field_input(definition, text)


def _parse_import_row(
    definition: EntityDef, row: Mapping[str, Any]
) -> tuple[str | None, dict[str, JsonValue]]:
    """The row's record id (None for a new record) and its typed values.

    Text values are parsed by field type; JSON values are taken as they are.
    """
    values: dict[str, JsonValue] = {}
    problems: dict[str, str] = {}
    record_id: str | None = None
    for name, raw in row.items():
        if name in (definition.primary_key, "id"):
            if isinstance(raw, str) and raw.strip():
                record_id = raw.strip().lower()
            continue
        field_def = definition.field(name)
        if field_def is None:
            problems[name] = f"no such field on {definition.name}"
            continue
        if isinstance(raw, str):
            try:
                values[name] = parse_field_input(field_def, raw)
            except ValueError as exc:
                problems[name] = str(exc)
        else:
            values[name] = raw
    if problems:
        raise ValidationFailed(problems)
    return record_id, values


__all__ = ["ImportReport", "RecordService"]
