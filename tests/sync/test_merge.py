"""Pure rules: collapsing outbox rows, recognising our own write, device-wins bodies."""

from __future__ import annotations

import pytest

from tui_crm.sync.merge import (
    OutboxRow,
    changed_fields,
    collapse,
    conflict_kind,
    device_wins_body,
    next_write,
    server_has,
)


def row(
    seq: int, op: str, fields: dict[str, object] | None = None, base: str | None = "1"
) -> OutboxRow:
    return OutboxRow(seq, "account", "a", op, dict(fields or {}), base)


def test_create_then_updates_is_one_create_with_the_latest_values() -> None:
    group = collapse([row(2, "update", {"name": "b"}), row(1, "create", {"name": "a", "x": 1})])
    assert group.op == "create"
    assert group.fields == {"name": "b", "x": 1}
    assert group.seqs == (1, 2)


def test_updates_merge_and_keep_the_first_base() -> None:
    group = collapse([row(1, "update", {"name": "a"}, "5"), row(2, "update", {"city": "c"}, "6")])
    assert group.op == "update"
    assert group.fields == {"name": "a", "city": "c"}
    assert group.base_version == "5"


def test_update_then_delete_is_a_delete() -> None:
    group = collapse([row(1, "update", {"name": "a"}), row(2, "delete")])
    assert group.op == "delete"
    assert group.fields == {}


def test_create_then_delete_needs_nothing_sent() -> None:
    assert collapse([row(1, "create", {"name": "a"}), row(2, "delete")]).op == "none"


def test_create_sent_without_answer_then_delete_sends_a_delete() -> None:
    sent = OutboxRow(1, "account", "a", "create", {"name": "a"}, None, sent=True)
    group = collapse([sent, row(2, "delete")])
    assert group.op == "delete"
    assert group.base_version is None
    assert next_write([sent, row(2, "delete")]).op == "delete"


def test_a_write_sent_without_answer_goes_again_alone_before_later_rows() -> None:
    sent = OutboxRow(1, "account", "a", "update", {"telephone1": "1"}, "5", sent=True)
    later = row(2, "update", {"name": "b"}, "5")
    head = next_write([later, sent])
    assert (head.op, head.fields, head.base_version, head.seqs) == (
        "update",
        {"telephone1": "1"},
        "5",
        (1,),
    )
    assert head.more
    assert not next_write([sent]).more
    whole = next_write([row(1, "update", {"telephone1": "1"}, "5"), later])
    assert whole.fields == {"telephone1": "1", "name": "b"} and not whole.more


def test_collapse_refuses_nothing() -> None:
    with pytest.raises(ValueError):
        collapse([])


def test_server_has_compares_lookups_by_id_and_numbers_loosely() -> None:
    ours = {"name": "A", "revenue": 10, "parent": {"entity": "account", "id": "ABC"}}
    theirs = {"name": "A", "revenue": 10.0, "parent": {"entity": "account", "id": "abc"}, "x": 1}
    assert server_has(ours, theirs)
    assert not server_has({"name": "B"}, theirs)
    assert server_has({"description": ""}, {"description": None})


def test_device_wins_only_on_changed_fields() -> None:
    server = {"name": "server name", "city": "server city", "phone": "1"}
    assert device_wins_body(server, {"city": "my city"}) == {
        "name": "server name",
        "city": "my city",
        "phone": "1",
    }


def test_changed_fields_against_a_base() -> None:
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": 2, "c": None}


def test_conflict_kinds() -> None:
    assert conflict_kind("update", True) == "update-update"
    assert conflict_kind("update", False) == "update-delete"
    assert conflict_kind("delete", True) == "delete-update"
