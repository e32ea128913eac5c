"""Keyset-paged lists and full-text search.

A page is fetched as "the next `limit` rows after (sort value, id)", never by
OFFSET, so page 1000 costs what page 1 costs. The default order (primary name)
walks the `records_by_name` index; other fields sort by a JSON extraction.

A search without an explicit order is walked in the full-text index's own
order (newest rowid first) and stops after `limit` matches, so typing a common
prefix costs the same at a million records as at ten thousand. A search with
an explicit order must read every match to sort them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tui_crm.domain.entities import TEXTUAL_TYPES, EntityDef, FieldType
from tui_crm.domain.errors import ValidationFailed
from tui_crm.domain.records import Page, PageCursor
from tui_crm.store.database import Connection
from tui_crm.store.records import RECORD_COLUMNS, row_to_record
from tui_crm.store.search import SearchPlan, filter_sql, plan_search, register_filter

MAX_LIMIT = 1000
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class SortKey:
    expression: str
    """SQL over table `r` with its collation, e.g. `json_extract(...) COLLATE NOCASE`."""
    nullable: bool


def sort_key(entity: EntityDef, order: str | None) -> SortKey:
    if order is None or order in ("name", entity.primary_name):
        return SortKey("r.name", nullable=False)
    if order in ("modified_on", "modifiedon"):
        return SortKey("r.modified_on", nullable=True)
    if order == "state":
        return SortKey("r.state", nullable=False)
    field = entity.field(order)
    if field is None or not _FIELD_NAME.match(order):
        raise ValidationFailed({"order": f"{order} is not a field of {entity.name}"})
    path = f"'$.{order}.id'" if field.type == FieldType.LOOKUP else f"'$.{order}'"
    expression = f"json_extract(r.body, {path})"
    if field.type in TEXTUAL_TYPES:
        expression += " COLLATE NOCASE"
    return SortKey(expression, nullable=True)


def list_records(
    conn: Connection,
    entity: EntityDef,
    *,
    search: str | None = None,
    order: str | None = None,
    descending: bool = False,
    after: PageCursor | None = None,
    limit: int = 50,
) -> Page:
    limit = max(1, min(MAX_LIMIT, limit))
    plan = plan_search(search) if search else None
    if plan is not None:
        register_filter(conn, entity)
    if plan is not None and order is None:
        return _search_newest_first(conn, entity, plan, after, limit)
    key = sort_key(entity, order)
    where = ["r.entity = ?", "r.state != 'deleted'"]
    params: list[Any] = [entity.name]
    if plan is not None:
        where.append("r.rowid IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)")
        params.append(plan.match)
        extra_sql, extra_params = filter_sql(plan)
        if extra_sql:
            where.append(extra_sql.removeprefix(" AND "))
            params.extend(extra_params)
    if after is not None:
        condition, extra = _after_condition(key, after, descending)
        where.append(condition)
        params.extend(extra)
    direction = "DESC" if descending else "ASC"
    columns = ", ".join("r." + c.strip() for c in RECORD_COLUMNS.split(","))
    sql = (
        f"SELECT {columns}, {key.expression} AS sort_value FROM records r "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY {key.expression} {direction}, r.id {direction} LIMIT ?"
    )
    params.append(limit + 1)
    rows = conn.execute(sql, params).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    records = [row_to_record(row) for row in rows]
    cursor = PageCursor(sort_value=rows[-1][9], id=rows[-1][2]) if more and rows else None
    return Page(records=records, next_cursor=cursor)


def _search_newest_first(
    conn: Connection, entity: EntityDef, plan: SearchPlan, after: PageCursor | None, limit: int
) -> Page:
    """FTS drives the loop in descending rowid order; the cursor's sort value is the rowid."""
    params: list[Any] = [plan.match]
    bound = ""
    if after is not None:
        if not isinstance(after.sort_value, int) or isinstance(after.sort_value, bool):
            raise ValidationFailed({"after": "cursor does not belong to this search"})
        bound = "AND f.rowid < ? "
        params.append(after.sort_value)
    params.append(entity.name)
    extra_sql, extra_params = filter_sql(plan)
    params += [*extra_params, limit + 1]
    columns = ", ".join("r." + c.strip() for c in RECORD_COLUMNS.split(","))
    rows = conn.execute(
        f"SELECT {columns}, f.rowid FROM records_fts f JOIN records r ON r.rowid = f.rowid "
        f"WHERE records_fts MATCH ? {bound}AND r.entity = ? AND r.state != 'deleted'"
        f"{extra_sql} ORDER BY f.rowid DESC LIMIT ?",
        params,
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = PageCursor(sort_value=rows[-1][9], id=rows[-1][2]) if more and rows else None
    return Page(records=[row_to_record(row) for row in rows], next_cursor=cursor)


def _after_condition(key: SortKey, after: PageCursor, descending: bool) -> tuple[str, list[Any]]:
    """Rows strictly after the cursor in (sort value, id) order; SQLite puts NULLs first."""
    value = after.sort_value
    if isinstance(value, dict | list):
        raise ValidationFailed({"after": "cursor value is not sortable"})
    expr = key.expression
    op = "<" if descending else ">"
    if not key.nullable:
        return f"({expr}, r.id) {op} (?, ?)", [value, after.id]
    if value is None:
        if descending:
            return f"({expr} IS NULL AND r.id < ?)", [after.id]
        return f"(({expr} IS NULL AND r.id > ?) OR {expr} IS NOT NULL)", [after.id]
    tail = f" OR {expr} IS NULL" if descending else ""
    return f"({expr} {op} ? OR ({expr} = ? AND r.id {op} ?){tail})", [value, value, after.id]
