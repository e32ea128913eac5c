"""Import/export file handling in-process: formats, line numbers, value text round trips."""

from __future__ import annotations

import io
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_crm.cli.record_files import (
    ExportFormat,
    ImportFileUnreadable,
    export_format_for,
    open_export_sink,
    read_import_rows,
    validate_import_rows,
    value_to_text,
)
from tui_crm.domain.entities import FieldType
from tui_crm.domain.standard_schema import STANDARD_ENTITIES
from tui_crm.domain.values import parse_input

ACCOUNT = next(entity for entity in STANDARD_ENTITIES if entity.name == "account")


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_csv_rows_carry_the_line_they_start_on(tmp_path: Path) -> None:
    source = _write(tmp_path, "a.csv", 'name,description\nA,"one\ntwo\nthree"\n\nB,x\n')
    parsed = read_import_rows(source, None)
    assert [(row.line, row.values["name"]) for row in parsed.rows] == [(2, "A"), (6, "B")]
    assert parsed.rows[0].values["description"] == "one\ntwo\nthree"
    assert parsed.problems == []


def test_format_by_extension_then_by_content(tmp_path: Path) -> None:
    jsonl = _write(tmp_path, "rows.data", '{"name": "A"}\n')
    csv_file = _write(tmp_path, "rows.other", "name\nA\n")
    assert read_import_rows(jsonl, None).rows[0].values == {"name": "A"}
    assert read_import_rows(csv_file, None).rows[0].values == {"name": "A"}
    forced = _write(tmp_path, "rows.csv", '{"name": "A"}\n')
    assert read_import_rows(forced, "jsonl").rows[0].values == {"name": "A"}
    assert export_format_for(None, Path("x.jsonl")) is ExportFormat.JSONL
    assert export_format_for(None, Path("x.csv")) is ExportFormat.CSV
    assert export_format_for(None, None) is ExportFormat.CSV
    assert export_format_for("jsonl", Path("x.csv")) is ExportFormat.JSONL


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    source = _write(tmp_path, "excel.csv", "\ufeffname,address1_city\nA,Oslo\n".encode())
    assert read_import_rows(source, None).rows[0].values == {"name": "A", "address1_city": "Oslo"}


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ImportFileUnreadable, match="not UTF-8"):
        read_import_rows(_write(tmp_path, "bin.csv", b"name\n\xff\n"), None)
    with pytest.raises(ImportFileUnreadable, match="no rows"):
        read_import_rows(_write(tmp_path, "blank.csv", "\n\n"), None)
    with pytest.raises(ImportFileUnreadable, match="cannot read"):
        read_import_rows(tmp_path / "absent.csv", None)


def test_stdin_is_read_as_bytes_after_the_password_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_crm.cli.password import PasswordReader

    raw = io.BufferedReader(io.BytesIO("secret pass\nname\nZoë\n".encode()))  # type: ignore[arg-type]
    fake_stdin = io.TextIOWrapper(raw, encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    assert PasswordReader(from_stdin=True).read("Profile password: ") == "secret pass"
    parsed = read_import_rows(None, None)
    assert [row.values for row in parsed.rows] == [{"name": "Zoë"}]
    assert parsed.rows[0].line == 2


def test_validation_collects_every_problem_with_its_line(tmp_path: Path) -> None:
    source = _write(
        tmp_path,
        "a.jsonl",
        '{"name": "ok", "revenue": 5}\n'
        '{"revenue": "x"}\n'
        '{"name": "b", "shoe": 1, "address1_latitude": 120}\n'
        '{"accountid": "0f8fad5b-d9cb-469f-a165-70867728950e", "revenue": 1}\n'
        '{"name": ["not", "a", "value"]}\n'
        "not json\n",
    )
    problems = validate_import_rows(ACCOUNT, read_import_rows(source, None))
    described = [problem.describe() for problem in problems]
    assert "line 2: name: is required" in described
    assert any(d.startswith("line 2: revenue:") for d in described)
    assert "line 3: shoe: no such field on account" in described
    assert any(d.startswith("line 3: address1_latitude:") for d in described)
    assert any(d.startswith("line 5: name: unsupported value") for d in described)
    assert any(d.startswith("line 6: not valid JSON") for d in described)
    assert not any(d.startswith(("line 1", "line 4")) for d in described)  # 4 is an update
    assert [p.line for p in problems] == sorted(p.line for p in problems)


json_values = {
    FieldType.TEXT: st.text(min_size=1, max_size=20).filter(
        lambda s: s.strip() == s and "\n" not in s and "\r" not in s and "\x00" not in s
    ),
    FieldType.INTEGER: st.integers(min_value=0, max_value=10**9),
    FieldType.MONEY: st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    FieldType.LATITUDE: st.floats(min_value=-90, max_value=90, allow_nan=False),
    FieldType.BOOLEAN: st.booleans(),
    FieldType.DATE: st.dates().map(lambda d: d.isoformat()),
}


@given(st.data())
def test_exported_value_text_parses_back_to_the_same_value(data: st.DataObject) -> None:
    field = data.draw(
        st.sampled_from(
            [
                f
                for f in ACCOUNT.fields
                if (f.type in json_values or f.type == FieldType.LOOKUP) and not f.read_only
            ]
        )
    )
    if field.type == FieldType.LOOKUP:
        target = data.draw(st.sampled_from(field.targets))
        value = {"entity": target, "id": str(data.draw(st.uuids()))}
    else:
        value = data.draw(json_values[field.type])
    assert parse_input(field, value_to_text(value)) == value


def test_export_file_is_private_and_replaced_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous export", encoding="utf-8")
    with pytest.raises(RuntimeError), open_export_sink(target) as sink:
        sink.write_csv_row(["half", "written"])
        raise RuntimeError("export interrupted")
    assert target.read_text(encoding="utf-8") == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with open_export_sink(target) as sink:
        sink.write_csv_row(["a,b", "c"])
        sink.write_json_line({"k": "ü"})
    assert target.read_bytes() == '"a,b",c\n{"k":"ü"}\n'.encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
