"""records list|get|create|update|delete and outbox: outputs, JSON shapes and failures."""

from __future__ import annotations

import json
import re

from cli_harness import Cli, assert_one_line_failure

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MISSING_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def _create(cli: Cli, entity: str, *assignments: str) -> str:
    args = [arg for assignment in assignments for arg in ("--set", assignment)]
    ident = cli.ok("records", "create", entity, *args).stdout.strip()
    assert GUID.match(ident), ident
    return ident


def test_create_get_update_delete_round_trip(ready: Cli) -> None:
    ident = _create(
        ready,
        "account",
        "name=Acme Tools",
        "address1_city=Oslo",
        "revenue=1234.5",
        "numberofemployees=42",
        "industrycode=Consulting",
        "address1_latitude=59.91",
        "address1_longitude=10.75",
    )
    record = json.loads(ready.ok("records", "get", "account", ident, "--json").stdout)
    assert set(record) == {"entity", "id", "fields", "state"}
    assert record["entity"] == "account" and record["id"] == ident
    assert record["state"] == "created"
    fields = record["fields"]
    assert fields["name"] == "Acme Tools" and fields["address1_city"] == "Oslo"
    assert fields["revenue"] == 1234.5 and fields["numberofemployees"] == 42
    assert fields["industrycode"] == 7  # "Consulting" is option 7
    assert fields["address1_latitude"] == 59.91

    text = ready.ok("records", "get", "account", ident.upper()).stdout
    assert re.search(r"^name\s+Acme Tools$", text, re.M)
    assert re.search(r"^industrycode\s+Consulting$", text, re.M)

    updated = ready.ok(
        "records", "update", "account", ident, "--set", "address1_city=Bergen", "--json"
    )
    assert json.loads(updated.stdout)["fields"]["address1_city"] == "Bergen"
    again = json.loads(ready.ok("records", "get", "account", ident, "--json").stdout)
    assert again["fields"]["address1_city"] == "Bergen"
    assert again["fields"]["name"] == "Acme Tools"

    cleared = ready.ok("records", "update", "account", ident, "--set", "address1_city=", "--json")
    assert json.loads(cleared.stdout)["fields"].get("address1_city") is None

    ready.ok("records", "delete", "account", ident)
    gone = ready.run("records", "get", "account", ident)
    assert_one_line_failure(gone, 1, ident)


def test_create_with_json_prints_the_record(ready: Cli) -> None:
    result = ready.ok(
        "records",
        "create",
        "contact",
        "--set",
        "firstname=Ada",
        "--set",
        "lastname=Lovelace",
        "--json",
    )
    record = json.loads(result.stdout)
    assert record["entity"] == "contact" and GUID.match(record["id"])
    assert record["fields"]["lastname"] == "Lovelace"
    assert record["state"] == "created"


def test_lookup_values_as_entity_id_or_bare_id(ready: Cli) -> None:
    parent = _create(ready, "account", "name=Parent Co")
    child = _create(ready, "account", "name=Child Co", f"parentaccountid={parent}")
    contact = _create(ready, "contact", "lastname=Doe", f"parentcustomerid=account:{parent}")
    child_json = json.loads(ready.ok("records", "get", "account", child, "--json").stdout)
    assert child_json["fields"]["parentaccountid"] == {"entity": "account", "id": parent}
    contact_json = json.loads(ready.ok("records", "get", "contact", contact, "--json").stdout)
    assert contact_json["fields"]["parentcustomerid"] == {"entity": "account", "id": parent}
    dangling = ready.run(
        "records", "create", "account", "--set", "name=X", "--set", f"parentaccountid={MISSING_ID}"
    )
    assert_one_line_failure(dangling, 1, "parentaccountid")


def test_unknown_entity_is_one_line(ready: Cli) -> None:
    for args in (
        ["records", "list", "widget"],
        ["records", "create", "widget", "--set", "name=x"],
        ["records", "get", "widget", MISSING_ID],
        ["records", "export", "widget"],
    ):
        assert_one_line_failure(ready.run(*args), 1, "unknown entity: widget")


def test_invalid_values_name_every_bad_field_and_write_nothing(ready: Cli) -> None:
    # One command per group: all bad fields of a write are reported together, in one line.
    groups = [
        {
            "revenue=lots": "revenue",
            "numberofemployees=4.5": "numberofemployees",
            "industrycode=Piracy": "industrycode",
            "parentaccountid=contact:" + MISSING_ID: "parentaccountid",
            "nosuchfield=1": "nosuchfield",
            "statecode=7": "statecode",
        },
        {
            "address1_latitude=91": "address1_latitude",
            "address1_longitude=-181": "address1_longitude",
            "emailaddress1=not-an-email": "emailaddress1",
            "websiteurl=ftp://x": "websiteurl",
            "name=" + "n" * 161: "name",
        },
    ]
    for group in groups:
        args = [arg for assignment in group for arg in ("--set", assignment)]
        result = ready.run("records", "create", "account", "--set", "name=Valid", *args)
        assert_one_line_failure(result, 1, "invalid input", *(f"{f}:" for f in group.values()))
    missing_required = ready.run("records", "create", "account", "--set", "address1_city=Oslo")
    assert_one_line_failure(missing_required, 1, "name: is required")
    assert json.loads(ready.ok("records", "list", "account", "--json").stdout) == []


def test_invalid_update_leaves_the_record_unchanged(ready: Cli) -> None:
    ident = _create(ready, "account", "name=Stable", "revenue=10")
    before = json.loads(ready.ok("records", "get", "account", ident, "--json").stdout)
    result = ready.run(
        "records", "update", "account", ident, "--set", "revenue=ten", "--set", "name=Changed"
    )
    assert_one_line_failure(result, 1, "revenue")
    result = ready.run("records", "update", "account", ident, "--set", "name=")
    assert_one_line_failure(result, 1, "name")
    after = json.loads(ready.ok("records", "get", "account", ident, "--json").stdout)
    assert after == before
    assert_one_line_failure(
        ready.run("records", "update", "account", MISSING_ID, "--set", "name=x"), 1, MISSING_ID
    )
    assert_one_line_failure(ready.run("records", "delete", "account", MISSING_ID), 1, MISSING_ID)


def test_list_search_order_limit_and_json(ready: Cli) -> None:
    rows = "".join(
        f"{name},{city}\n"
        for name, city in [
            ("Delta Dairy", "Oslo"),
            ("Alpha Anvils", "Bergen"),
            ("Charlie Chairs", "Oslo"),
            ("Bravo Bikes", "Tromsø"),
            ("Echo Engines", "Oslo"),
        ]
    )
    ready.ok("records", "import", "account", "--file", "-", stdin="name,address1_city\n" + rows)

    def names(*args: str) -> list[str]:
        result = ready.ok("records", "list", "account", "--json", *args)
        return [record["fields"]["name"] for record in json.loads(result.stdout)]

    assert names() == [
        "Alpha Anvils",
        "Bravo Bikes",
        "Charlie Chairs",
        "Delta Dairy",
        "Echo Engines",
    ]
    assert names("--limit", "2") == ["Alpha Anvils", "Bravo Bikes"]
    assert names("--order=-name", "--limit", "2") == ["Echo Engines", "Delta Dairy"]
    assert names("--order", "name", "--desc", "--limit", "1") == ["Echo Engines"]
    assert names("--order", "address1_city", "--limit", "1") == ["Alpha Anvils"]
    # Orders the store keeps an index for, beyond the entity's fields.
    assert len(names("--order", "modifiedon")) == 5
    assert sorted(names("--order=-modified_on")) == sorted(names())
    assert sorted(names("--search", "oslo")) == ["Charlie Chairs", "Delta Dairy", "Echo Engines"]
    assert names("--search", "bik") == ["Bravo Bikes"]
    assert names("--search", "nothing-matches-this") == []

    bad_order = ready.run("records", "list", "account", "--order", "shoe_size")
    assert_one_line_failure(bad_order, 1, "shoe_size")

    full = ready.ok("records", "list", "account")
    assert full.stderr == ""
    cut = ready.ok("records", "list", "account", "--limit", "2")
    assert len(cut.stdout.splitlines()) == 3
    assert "showing the first 2; use --limit N for more" in cut.stderr
    text = full.stdout.splitlines()
    assert text[0].split()[:2] == ["id", "name"]
    assert len(text) == 6
    assert all(len(line) <= 80 for line in text)
    assert "Tromsø" in "\n".join(text)
    assert all(GUID.match(line.split()[0]) for line in text[1:])


def test_list_text_fits_a_narrow_terminal(ready: Cli) -> None:
    _create(
        ready,
        "account",
        "name=" + "Very Long Company Name " * 5,
        "emailaddress1=someone@example.com",
        "address1_city=Llanfairpwllgwyngyll",
    )
    ready.env["COLUMNS"] = "60"
    lines = ready.ok("records", "list", "account").stdout.splitlines()
    assert len(lines) == 2
    assert all(len(line) <= 60 for line in lines), lines


def test_hostile_record_text_does_not_reach_the_terminal_raw(ready: Cli) -> None:
    ident = _create(ready, "account", "name=Evil\x1b]0;owned\x07Corp")
    listing = ready.ok("records", "list", "account").stdout
    shown = ready.ok("records", "get", "account", ident).stdout
    assert "\x1b" not in listing and "\x07" not in listing
    assert "\x1b" not in shown and "\x07" not in shown
    raw = json.loads(ready.ok("records", "get", "account", ident, "--json").stdout)
    assert raw["fields"]["name"] == "Evil\x1b]0;owned\x07Corp"


def test_outbox_lists_pending_changes(ready: Cli) -> None:
    assert json.loads(ready.ok("outbox", "--json").stdout) == []
    first = _create(ready, "account", "name=One")
    _create(ready, "contact", "lastname=Two")
    ready.ok("records", "update", "account", first, "--set", "address1_city=Oslo")
    changes = json.loads(ready.ok("outbox", "--json").stdout)
    assert {change["entity"] for change in changes} == {"account", "contact"}
    for change in changes:
        assert {
            "seq",
            "entity",
            "record_id",
            "op",
            "fields",
            "base_version",
            "mutation_id",
            "created_at",
            "attempts",
            "last_error",
        } <= set(change)
        assert change["op"] in ("create", "update", "delete")
    account_changes = [c for c in changes if c["record_id"] == first]
    assert account_changes and account_changes[0]["op"] == "create"
    text = ready.ok("outbox").stdout.splitlines()
    assert text[0].split()[:3] == ["seq", "op", "entity"]
    assert len(text) == 1 + len(changes)
