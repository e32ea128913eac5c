"""`records list|get|create|update|delete|import|export` and `outbox`.

Values on the command line and in import files are text, parsed by the
entity's field types exactly as the interface's form parses them, so a value
accepted in one place is accepted in the other.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tui_crm.cli.context import UsageError, unlocked_session
from tui_crm.cli.output import print_json, print_lines, render_pairs, render_table, terminal_width
from tui_crm.cli.record_files import (
    ExportFormat,
    ImportProblem,
    csv_header,
    export_format_for,
    open_export_sink,
    read_import_rows,
    read_only_columns,
    record_to_csv_row,
    record_to_jsonl_object,
    rows_for_service,
    validate_import_rows,
)
from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import DomainError, ValidationFailed
from tui_crm.domain.records import JsonValue, PageCursor, Record
from tui_crm.domain.values import format_value, parse_input

PAGE_SIZE = 200
DEFAULT_LIST_LIMIT = 50
MAX_REPORTED_ROWS = 20


class ImportRejected(DomainError):
    """Some rows of an import file are invalid; nothing was written."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _record_id(text: str) -> str:
    """Ids are stored as lower-case GUIDs; accept one pasted from an upper-case source."""
    return text.strip().lower()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    records = subparsers.add_parser("records", help="list, read, write, import and export records")
    actions = records.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list records of an entity")
    listing.add_argument("entity", metavar="ENTITY")
    listing.add_argument("--search", metavar="Q", help="full-text search")
    listing.add_argument(
        "--order", metavar="FIELD", help="sort by this field (--order=-FIELD for descending)"
    )
    listing.add_argument("--desc", action="store_true", help="sort descending")
    listing.add_argument(
        "--limit",
        metavar="N",
        type=_positive_int,
        default=DEFAULT_LIST_LIMIT,
        help=f"at most N records (default {DEFAULT_LIST_LIMIT})",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list of records")
    listing.set_defaults(handler=list_records)

    get = actions.add_parser("get", help="show one record")
    get.add_argument("entity", metavar="ENTITY")
    get.add_argument("id", metavar="ID", type=_record_id)
    get.add_argument("--json", action="store_true", help="print the record as JSON")
    get.set_defaults(handler=get_record)

    create = actions.add_parser("create", help="create a record; prints its id")
    create.add_argument("entity", metavar="ENTITY")
    _add_set_option(create)
    create.add_argument("--json", action="store_true", help="print the new record as JSON")
    create.set_defaults(handler=create_record)

    update = actions.add_parser("update", help="change named fields of a record")
    update.add_argument("entity", metavar="ENTITY")
    update.add_argument("id", metavar="ID", type=_record_id)
    _add_set_option(update)
    update.add_argument("--json", action="store_true", help="print the updated record as JSON")
    update.set_defaults(handler=update_record)

    delete = actions.add_parser("delete", help="delete a record")
    delete.add_argument("entity", metavar="ENTITY")
    delete.add_argument("id", metavar="ID", type=_record_id)
    delete.set_defaults(handler=delete_record)

    importing = actions.add_parser(
        "import",
        help="create/update many records from CSV or JSON Lines, all or nothing",
        description=(
            "Every row is validated first; if any is invalid nothing is written and the "
            "bad rows are reported by line number. A row with the entity's id field updates."
        ),
    )
    importing.add_argument("entity", metavar="ENTITY")
    importing.add_argument(
        "--file", metavar="F", required=True, help="CSV or JSON Lines file ('-' for stdin)"
    )
    importing.add_argument(
        "--format",
        choices=[f.value for f in ExportFormat],
        help="file format (default: from the extension, else sniffed)",
    )
    importing.set_defaults(handler=import_records)

    exporting = actions.add_parser(
        "export",
        help="write records out, decrypted",
        description="Writes the records in readable form: keep the output somewhere safe.",
    )
    exporting.add_argument("entity", metavar="ENTITY")
    exporting.add_argument("--format", choices=[f.value for f in ExportFormat])
    exporting.add_argument(
        "--output", metavar="F", type=Path, help="file to write (mode 0600); default stdout"
    )
    exporting.set_defaults(handler=export_records)

    outbox = subparsers.add_parser("outbox", help="local changes not yet on the server")
    outbox.add_argument("--json", action="store_true", help="print the changes as JSON")
    outbox.set_defaults(handler=show_outbox)


def _add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        dest="assignments",
        help="a field value as text (lookups as entity:id); repeat for more fields",
    )


def parse_assignments(entity_def: EntityDef, assignments: list[str]) -> dict[str, JsonValue]:
    """`FIELD=VALUE` texts to typed values; every bad field is named, none half-applied."""
    values: dict[str, JsonValue] = {}
    errors: dict[str, str] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set expects FIELD=VALUE, got {name or assignment!r}")
        field = entity_def.field(name)
        if field is None:
            errors[name] = f"no such field on {entity_def.name}"
            continue
        try:
            values[name] = parse_input(field, text)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise ValidationFailed(errors)
    return values


def _parse_order(order: str | None, desc: bool) -> tuple[str | None, bool]:
    if order is None:
        return None, desc
    descending = desc
    if order.startswith("-"):
        order, descending = order[1:], True
    # The store names what it can sort by (fields, name, modifiedon, state).
    return order, descending


def _cell(entity_def: EntityDef, name: str, value: JsonValue) -> str:
    if value is None:
        return ""
    field = entity_def.field(name)
    return str(value) if field is None else format_value(field, value)


def _record_pairs(entity_def: EntityDef, record: Record) -> list[tuple[str, str]]:
    pairs = [("id", record.id), ("state", record.state.value)]
    if record.sync_error:
        pairs.append(("sync_error", record.sync_error))
    shown = {entity_def.primary_key}
    for field in entity_def.fields:
        shown.add(field.name)
        value = record.fields.get(field.name)
        if value is not None and field.name != entity_def.primary_key:
            pairs.append((field.name, format_value(field, value)))
    for name, value in record.fields.items():
        if name not in shown and value is not None:
            pairs.append((name, str(value)))
    return pairs


async def list_records(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        entity_def = await session.records.entity(args.entity)
        order, descending = _parse_order(args.order, args.desc)
        found: list[Record] = []
        cursor: PageCursor | None = None
        while len(found) < args.limit:
            page = await session.records.list(
                args.entity,
                search=args.search,
                order=order,
                descending=descending,
                after=cursor,
                limit=min(PAGE_SIZE, args.limit - len(found)),
            )
            found.extend(page.records)
            cursor = page.next_cursor
            if cursor is None or not page.records:
                break
    if args.json:
        print_json([record.to_json() for record in found[: args.limit]])
        return 0
    if cursor is not None and len(found) >= args.limit:
        sys.stderr.write(f"tui-crm: showing the first {args.limit}; use --limit N for more\n")
    columns = [c for c in entity_def.columns if c != entity_def.primary_key]
    rows = [
        [
            record.id,
            *(_cell(entity_def, c, record.fields.get(c)) for c in columns),
            record.state.value,
        ]
        for record in found[: args.limit]
    ]
    headers = ["id", *columns, "state"]
    fixed = [True] + [False] * len(columns) + [True]
    print_lines(render_table(headers, rows, width=terminal_width(), fixed=fixed))
    return 0


async def get_record(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        entity_def = await session.records.entity(args.entity)
        record = await session.records.get(args.entity, args.id)
    if args.json:
        print_json(record.to_json())
    else:
        print_lines(render_pairs(_record_pairs(entity_def, record)))
    return 0


async def create_record(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        entity_def = await session.records.entity(args.entity)
        values = parse_assignments(entity_def, args.assignments)
        record = await session.records.create(args.entity, values)
    if args.json:
        print_json(record.to_json())
    else:
        print_lines([record.id])
    return 0


async def update_record(args: argparse.Namespace) -> int:
    if not args.assignments:
        raise UsageError("nothing to update: give at least one --set FIELD=VALUE")
    async with unlocked_session(args) as session:
        entity_def = await session.records.entity(args.entity)
        values = parse_assignments(entity_def, args.assignments)
        record = await session.records.update(args.entity, args.id, values)
    if args.json:
        print_json(record.to_json())
    return 0


async def delete_record(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        await session.records.entity(args.entity)
        await session.records.delete(args.entity, args.id)
    return 0


async def import_records(args: argparse.Namespace) -> int:
    source = None if args.file == "-" else Path(args.file)
    if source is not None and not source.is_file():
        raise DomainError(f"cannot read {source}: no such file")
    async with unlocked_session(args) as session:
        entity_def = await session.records.entity(args.entity)
        parsed = read_import_rows(source, args.format)
        problems = validate_import_rows(entity_def, parsed)
        _refuse_if_any(problems)
        ignored = read_only_columns(entity_def, parsed)
        if ignored:
            sys.stderr.write(f"tui-crm: note: read-only columns ignored: {', '.join(ignored)}\n")
        rows = rows_for_service(entity_def, parsed)
        report = await session.records.import_rows(args.entity, rows)
        # What only the store can judge (lookup targets, ids to update) comes back by row.
        _refuse_if_any(
            [
                ImportProblem(parsed.rows[number - 1].line, name, message)
                for number, fields in sorted(report.errors.items())
                for name, message in fields.items()
            ]
        )
    print_lines(
        [
            f"imported {len(rows)} {entity_def.name} rows: "
            f"{report.created} created, {report.updated} updated"
        ]
    )
    return 0


def _refuse_if_any(problems: list[ImportProblem]) -> None:
    """Report the bad rows by line on stderr, then fail the whole import."""
    if not problems:
        return
    for problem in problems[:MAX_REPORTED_ROWS]:
        sys.stderr.write(problem.describe() + "\n")
    if len(problems) > MAX_REPORTED_ROWS:
        sys.stderr.write(f"... and {len(problems) - MAX_REPORTED_ROWS} more problems\n")
    bad_lines = len({problem.line for problem in problems})
    raise ImportRejected(f"import refused: {bad_lines} bad rows; nothing was written")


async def export_records(args: argparse.Namespace) -> int:
    export_format = export_format_for(args.format, args.output)
    where = str(args.output) if args.output is not None else "standard output"
    async with unlocked_session(args) as session:
        entity_def = await session.records.entity(args.entity)
        sys.stderr.write(
            f"tui-crm: warning: the export is decrypted: {where} holds readable CRM data\n"
        )
        count = 0
        with open_export_sink(args.output) as sink:
            if export_format is ExportFormat.CSV:
                sink.write_csv_row(csv_header(entity_def))
            async for record in session.records.export(args.entity):
                if export_format is ExportFormat.CSV:
                    sink.write_csv_row(record_to_csv_row(entity_def, record))
                else:
                    sink.write_json_line(record_to_jsonl_object(entity_def, record))
                count += 1
    sys.stderr.write(f"tui-crm: exported {count} {entity_def.name} records\n")
    return 0


async def show_outbox(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        changes = await session.records.outbox()
    if args.json:
        print_json([dataclasses.asdict(change) for change in changes])
        return 0
    headers = ["seq", "op", "entity", "record_id", "fields", "attempts", "last_error"]
    rows = [
        [
            str(c.seq),
            c.op.value,
            c.entity,
            c.record_id,
            ",".join(c.fields) or "-",
            str(c.attempts),
            c.last_error or "",
        ]
        for c in changes
    ]
    fixed = [True, True, True, True, False, True, False]
    print_lines(render_table(headers, rows, width=terminal_width(), fixed=fixed))
    return 0
