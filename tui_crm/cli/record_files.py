"""CSV and JSON Lines for `records import` and `records export`.

Both directions use the same text form of a value (the one `--set` and the
form accept), so an export imports back unchanged. Exports are written to a
0600 temporary file renamed into place, so a failed export leaves no
half-written readable copy of the data behind.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import DomainError
from tui_crm.domain.records import JsonValue, Record
from tui_crm.domain.values import parse_input, validate

JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class ImportFileUnreadable(DomainError):
    """The import file cannot be read as text at all (not a per-row problem)."""


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    """Line of the file where the row starts (1-based; a CSV header is line 1)."""
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class ImportProblem:
    line: int
    field: str | None
    message: str

    def describe(self) -> str:
        where = f"line {self.line}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


@dataclass(slots=True)
class ImportFile:
    rows: list[ImportRow]
    problems: list[ImportProblem]


def export_format_for(requested: str | None, output: Path | None) -> ExportFormat:
    if requested:
        return ExportFormat(requested)
    if output is not None and output.suffix.lower() in JSONL_SUFFIXES:
        return ExportFormat.JSONL
    return ExportFormat.CSV


def _import_format_for(requested: str | None, source: Path | None, text: str) -> ExportFormat:
    if requested:
        return ExportFormat(requested)
    if source is not None:
        suffix = source.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            return ExportFormat.JSONL
        if suffix in (".csv", ".txt"):
            return ExportFormat.CSV
    return ExportFormat.JSONL if text.lstrip().startswith("{") else ExportFormat.CSV


def read_import_rows(source: Path | None, requested: str | None) -> ImportFile:
    """Rows of a CSV or JSON Lines file (None = stdin), with structural problems by line."""
    name = "standard input" if source is None else str(source)
    try:
        # stdin: the same buffered reader the password lines came from, so no byte is lost.
        raw = sys.stdin.buffer.read() if source is None else source.read_bytes()
    except OSError as error:
        raise ImportFileUnreadable(f"cannot read {name}: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileUnreadable(
            f"cannot read {name}: not UTF-8 text (byte {error.start})"
        ) from None
    fmt = _import_format_for(requested, source, text)
    parsed = _read_jsonl(text) if fmt is ExportFormat.JSONL else _read_csv(text)
    if not parsed.rows and not parsed.problems:
        raise ImportFileUnreadable(f"nothing to import: {name} holds no rows")
    return parsed


def _read_csv(text: str) -> ImportFile:
    result = ImportFile(rows=[], problems=[])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    next_line = 1
    try:
        for cells in reader:
            start, next_line = next_line, reader.line_num + 1
            if not cells or all(not cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
                result.problems.extend(_header_problems(header, start))
                continue
            if len(cells) != len(header):
                result.problems.append(
                    ImportProblem(start, None, f"{len(cells)} cells, the header has {len(header)}")
                )
                continue
            result.rows.append(ImportRow(start, dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        result.problems.append(ImportProblem(next_line, None, f"malformed CSV: {error}"))
    return result


def _header_problems(header: list[str], line: int) -> list[ImportProblem]:
    problems = []
    seen: set[str] = set()
    for name in header:
        if not name:
            problems.append(ImportProblem(line, None, "empty column name in the header"))
        elif name in seen:
            problems.append(ImportProblem(line, name, "column appears twice in the header"))
        seen.add(name)
    return problems


def _read_jsonl(text: str) -> ImportFile:
    result = ImportFile(rows=[], problems=[])
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            result.problems.append(ImportProblem(number, None, f"not valid JSON: {error.msg}"))
            continue
        if not isinstance(document, dict):
            result.problems.append(ImportProblem(number, None, "not a JSON object"))
            continue
        values: dict[str, str] = {}
        for key, value in document.items():
            try:
                values[str(key)] = value_to_text(value)
            except ValueError as error:
                result.problems.append(ImportProblem(number, str(key), str(error)))
        result.rows.append(ImportRow(number, values))
    return result


def value_to_text(value: JsonValue) -> str:
    """A JSON body value in the text form `parse_input` reads back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        entity = value.get("entity")
        return f"{entity}:{value['id']}" if isinstance(entity, str) and entity else value["id"]
    raise ValueError(f"unsupported value of type {type(value).__name__}")


def validate_import_rows(entity_def: EntityDef, parsed: ImportFile) -> list[ImportProblem]:
    """Every problem of every row, before anything is written (lookup targets: the store)."""
    problems = list(parsed.problems)
    for row in parsed.rows:
        values: dict[str, JsonValue] = {}
        updating = bool(row.values.get(entity_def.primary_key, "").strip())
        for name, text in row.values.items():
            field = entity_def.field(name)
            if field is None:
                message = f"no such field on {entity_def.name}"
                problems.append(ImportProblem(row.line, name, message))
                continue
            if field.read_only or name == entity_def.primary_key:
                continue
            try:
                values[name] = parse_input(field, text)
            except ValueError as error:
                problems.append(ImportProblem(row.line, name, str(error)))
        for name, message in validate(entity_def, values, partial=updating).items():
            if not any(p.line == row.line and p.field == name for p in problems):
                problems.append(ImportProblem(row.line, name, message))
    return sorted(problems, key=lambda problem: problem.line)


def read_only_columns(entity_def: EntityDef, parsed: ImportFile) -> list[str]:
    """Columns the server computes (full name, ...): exported for reading, ignored on import."""
    names = {name for row in parsed.rows for name in row.values}
    return sorted(
        name
        for name in names
        if name != entity_def.primary_key
        and (field := entity_def.field(name)) is not None
        and field.read_only
    )


def rows_for_service(entity_def: EntityDef, parsed: ImportFile) -> list[dict[str, str]]:
    """Rows as the services take them: no read-only columns; an empty id cell means create."""
    ignored = set(read_only_columns(entity_def, parsed))
    rows = []
    for row in parsed.rows:
        values = {name: text for name, text in row.values.items() if name not in ignored}
        if not values.get(entity_def.primary_key, "").strip():
            values.pop(entity_def.primary_key, None)
        rows.append(values)
    return rows


def csv_header(entity_def: EntityDef) -> list[str]:
    return [entity_def.primary_key] + [
        f.name for f in entity_def.fields if f.name != entity_def.primary_key
    ]


def record_to_csv_row(entity_def: EntityDef, record: Record) -> list[str]:
    return [record.id] + [
        value_to_text(record.fields.get(f.name))
        for f in entity_def.fields
        if f.name != entity_def.primary_key
    ]


def record_to_jsonl_object(entity_def: EntityDef, record: Record) -> dict[str, Any]:
    document: dict[str, Any] = {entity_def.primary_key: record.id}
    for field in entity_def.fields:
        value = record.fields.get(field.name)
        if value is not None and field.name != entity_def.primary_key:
            document[field.name] = value
    return document


class ExportSink:
    """Encodes rows as UTF-8 onto a binary stream (stdout's or a private temp file's)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\n")

    def write_csv_row(self, cells: list[str]) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerow(cells)
        self._stream.write(self._buffer.getvalue().encode("utf-8"))

    def write_json_line(self, document: dict[str, Any]) -> None:
        line = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        self._stream.write(line.encode("utf-8") + b"\n")


@contextlib.contextmanager
def open_export_sink(output: Path | None) -> Iterator[ExportSink]:
    """stdout, or a 0600 temp file beside `output` renamed over it only when complete."""
    if output is None:
        sys.stdout.flush()
        yield ExportSink(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    target = output.expanduser()
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise DomainError(f"cannot write {target}: {error.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as stream:
            yield ExportSink(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
