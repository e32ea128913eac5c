"""records import (all or nothing, bad rows by line) and export (round trip, 0600, warning)."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

from cli_harness import Cli, assert_one_line_failure

GOOD_CSV = (
    "name,address1_city,revenue,industrycode,description\n"
    "Acme,Oslo,100.5,Consulting,plain\n"
    '"Comma, Inc",Bergen,,7,"two\nlines"\n'
    "Zoë Café,Tromsø,3,,\n"
)


def _export(cli: Cli, entity: str, *args: str) -> str:
    return cli.ok("records", "export", entity, *args).stdout


def test_csv_import_creates_every_row(ready: Cli, tmp_path: Path) -> None:
    source = tmp_path / "accounts.csv"
    source.write_text(GOOD_CSV, encoding="utf-8")
    result = ready.ok("records", "import", "account", "--file", str(source))
    assert "3 created, 0 updated" in result.stdout
    exported = list(csv.DictReader(io.StringIO(_export(ready, "account"))))
    by_name = {row["name"]: row for row in exported}
    assert set(by_name) == {"Acme", "Comma, Inc", "Zoë Café"}
    assert by_name["Comma, Inc"]["description"] == "two\nlines"
    assert by_name["Acme"]["industrycode"] == "7"
    assert float(by_name["Acme"]["revenue"]) == 100.5


def test_bad_rows_are_reported_by_line_and_nothing_is_written(ready: Cli, tmp_path: Path) -> None:
    source = tmp_path / "mixed.csv"
    source.write_text(
        "name,revenue,address1_latitude,emailaddress1\n"  # line 1
        "Good One,1,10,a@example.com\n"  # line 2
        ",2,10,b@example.com\n"  # line 3: name required
        "Bad Number,lots,10,c@example.com\n"  # line 4
        '"Multi\nline name",3,95,d@example.com\n'  # lines 5-6: latitude out of range
        "Good Two,4,10,not-an-email\n",  # line 7
        encoding="utf-8",
    )
    result = ready.run("records", "import", "account", "--file", str(source))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert "line 3: name: is required" in lines
    assert any(line.startswith("line 4: revenue:") for line in lines)
    assert any(line.startswith("line 5: address1_latitude:") for line in lines)
    assert any(line.startswith("line 7: emailaddress1:") for line in lines)
    assert not any(line.startswith("line 2") for line in lines)
    assert lines[-1] == "tui-crm: import refused: 4 bad rows; nothing was written"
    assert json.loads(ready.ok("records", "list", "account", "--json").stdout) == []
    assert json.loads(ready.ok("outbox", "--json").stdout) == []


def test_rows_only_the_store_can_judge_are_reported_by_line(ready: Cli, tmp_path: Path) -> None:
    missing = "0f8fad5b-d9cb-469f-a165-70867728950e"
    source = tmp_path / "refs.jsonl"
    source.write_text(
        '{"name": "Fine"}\n'
        "\n"
        f'{{"name": "Orphan", "parentaccountid": "account:{missing}"}}\n'
        f'{{"accountid": "{missing}", "name": "Update of nothing"}}\n',
        encoding="utf-8",
    )
    result = ready.run("records", "import", "account", "--file", str(source))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith("line 3: parentaccountid:") for line in lines), lines
    assert any(line.startswith("line 4: accountid:") for line in lines), lines
    assert "nothing was written" in lines[-1]
    assert json.loads(ready.ok("records", "list", "account", "--json").stdout) == []


def test_malformed_files_are_reported_not_crashed_on(ready: Cli, tmp_path: Path) -> None:
    cases = {
        "broken.jsonl": (
            '{"name": "ok"}\n{"name": \n[1, 2]\n',
            ["line 2: not valid JSON", "line 3"],
        ),
        "cells.csv": ("name,address1_city\nA,B,C\n", ["line 2: 3 cells, the header has 2"]),
        "header.csv": ("name,name\nA,B\n", ["line 1: name: column appears twice"]),
        "unknown.csv": ("name,shoe_size\nA,44\n", ["line 2: shoe_size: no such field on account"]),
    }
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        result = ready.run("records", "import", "account", "--file", str(path))
        assert result.returncode == 1, name
        assert "Traceback" not in result.stderr
        for needle in expected:
            assert needle in result.stderr, (name, result.stderr)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"name\n\xff\xfe\x00bad\n")
    assert_one_line_failure(
        ready.run("records", "import", "account", "--file", str(binary)), 1, "not UTF-8"
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert_one_line_failure(
        ready.run("records", "import", "account", "--file", str(empty)), 1, "no rows"
    )
    assert_one_line_failure(
        ready.run("records", "import", "account", "--file", str(tmp_path / "absent.csv")),
        1,
        "no such file",
    )
    assert json.loads(ready.ok("records", "list", "account", "--json").stdout) == []


def test_jsonl_export_round_trips(ready: Cli, tmp_path: Path) -> None:
    ready.ok("records", "import", "account", "--file", "-", stdin=GOOD_CSV)
    parent = json.loads(ready.ok("records", "list", "account", "--json", "--limit", "1").stdout)[0]
    ready.ok(
        "records",
        "create",
        "contact",
        "--set",
        "firstname=Ada",
        "--set",
        "lastname=Lovelace",
        "--set",
        f"parentcustomerid=account:{parent['id']}",
        "--set",
        "birthdate=1815-12-10",
        "--set",
        "gendercode=2",
    )
    out = tmp_path / "out"
    out.mkdir()
    result = ready.run("records", "export", "account", "--output", str(out / "accounts.jsonl"))
    assert result.returncode == 0
    assert "decrypted" in result.stderr
    ready.ok(
        "records", "export", "contact", "--format", "jsonl", "--output", str(out / "contacts.jsonl")
    )
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in sorted(out.iterdir())] == ["accounts.jsonl", "contacts.jsonl"]
    before = {
        entity: json.loads(ready.ok("records", "list", entity, "--json").stdout)
        for entity in ("account", "contact")
    }

    # Back into the same profile: the id field makes every line an update.
    assert (
        "0 created, 3 updated"
        in ready.ok("records", "import", "account", "--file", str(out / "accounts.jsonl")).stdout
    )
    assert (
        "0 created, 1 updated"
        in ready.ok("records", "import", "contact", "--file", str(out / "contacts.jsonl")).stdout
    )
    for entity, records in before.items():
        after = json.loads(ready.ok("records", "list", entity, "--json").stdout)
        assert [(r["id"], r["fields"]) for r in after] == [(r["id"], r["fields"]) for r in records]

    # Into a fresh profile without the ids: the same accounts, created anew.
    lines = (out / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
    without_ids = "".join(
        json.dumps({k: v for k, v in json.loads(line).items() if k != "accountid"}) + "\n"
        for line in lines
    )
    other = Cli(
        root=ready.root, profile=ready.root / "second", config_dir=ready.config_dir, env=ready.env
    )
    other.init()
    assert (
        "3 created"
        in other.ok("records", "import", "account", "--file", "-", stdin=without_ids).stdout
    )
    copied = json.loads(other.ok("records", "list", "account", "--json").stdout)
    assert [r["fields"] for r in copied] == [r["fields"] for r in before["account"]]


def test_csv_export_round_trips_as_updates(ready: Cli, tmp_path: Path) -> None:
    ready.ok("records", "import", "account", "--file", "-", stdin=GOOD_CSV)
    before = json.loads(ready.ok("records", "list", "account", "--json").stdout)
    target = tmp_path / "accounts.csv"
    target.write_text("an older export that must be replaced", encoding="utf-8")
    target.chmod(0o644)
    ready.ok("records", "export", "account", "--output", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    header = target.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[0] == "accountid" and "name" in header
    result = ready.ok("records", "import", "account", "--file", str(target))
    assert "0 created, 3 updated" in result.stdout
    after = json.loads(ready.ok("records", "list", "account", "--json").stdout)
    assert [(r["id"], r["fields"]) for r in after] == [(r["id"], r["fields"]) for r in before]


def test_read_only_columns_are_exported_and_ignored_on_import(ready: Cli) -> None:
    ready.ok("records", "create", "contact", "--set", "firstname=Grace", "--set", "lastname=Hopper")
    exported = _export(ready, "contact")
    assert "Grace Hopper" in exported  # fullname, computed
    edited = exported.replace("Hopper", "Murray")
    result = ready.ok("records", "import", "contact", "--file", "-", stdin=edited)
    assert "read-only columns ignored: fullname" in result.stderr
    [contact] = json.loads(ready.ok("records", "list", "contact", "--json").stdout)
    assert contact["fields"]["lastname"] == "Murray"
    assert contact["fields"]["fullname"] == "Grace Murray"


def test_export_to_an_unwritable_place_is_one_line(ready: Cli, tmp_path: Path) -> None:
    result = ready.run(
        "records", "export", "account", "--output", str(tmp_path / "no" / "such" / "dir" / "x.csv")
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot write" in result.stderr.splitlines()[-1]
