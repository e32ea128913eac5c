"""Pure decisions about pending local changes meeting the server's version of a record.

No I/O here, so every rule can be tested on plain dicts: how the outbox rows
of one record collapse into one write, whether a server row is just our own
earlier write coming back, and what each conflict policy makes of both sides.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    entity: str
    record_id: str
    op: str
    fields: dict[str, Any]
    base_version: str | None
    sent: bool = False
    """Sent at least once with no answer kept: the server may already have applied it."""


@dataclass(frozen=True, slots=True)
class PendingGroup:
    """All pending outbox rows of one record, collapsed into the one write the server needs."""

    entity: str
    record_id: str
    op: str
    """'create', 'update', 'delete', or 'none' (created and deleted before any sync)."""
    fields: dict[str, Any]
    base_version: str | None
    seqs: tuple[int, ...]
    more: bool = False
    """Later rows of the record wait behind this write (see `next_write`)."""


def collapse(rows: Iterable[OutboxRow]) -> PendingGroup:
    """Rows of one record in seq order → one write (create+update = create, …+delete = delete).

    Create then delete needs nothing sent only while the create never left the
    device; once it was sent, the server may hold the record, so the delete goes
    out (If-Match any: a 404 means the create never arrived, which is done too).
    """
    ordered = sorted(rows, key=lambda r: r.seq)
    if not ordered:
        raise ValueError("no rows to collapse")
    first = ordered[0]
    op = first.op
    fields: dict[str, Any] = {}
    create_sent = False
    for row in ordered:
        if row.op == "delete":
            op = ("delete" if create_sent else "none") if op == "create" else "delete"
            fields = {}
        elif row.op == "create":
            op = "create"
            fields = dict(row.fields)
            create_sent = row.sent
        else:
            if op == "delete":
                op = "update"
            fields.update(row.fields)
    return PendingGroup(
        entity=first.entity,
        record_id=first.record_id,
        op=op,
        fields=fields,
        base_version=first.base_version,
        seqs=tuple(r.seq for r in ordered),
    )


def next_write(rows: Iterable[OutboxRow]) -> PendingGroup:
    """The one write to send next for a record.

    Rows sent before without an answer are re-sent alone, exactly as the lost
    request carried them (same fields, same base), so a 412 can be recognised
    as that request having got through; rows queued since wait for the next
    pass, rebased on the version the first write produced. Only a sent create
    followed by a delete goes as one delete, which settles both.
    """
    ordered = sorted(rows, key=lambda r: r.seq)
    sent = [r for r in ordered if r.sent]
    if not sent or len(sent) == len(ordered):
        return collapse(ordered)
    if sent[0].op == "create" and ordered[-1].op == "delete":
        return collapse(ordered)
    head = collapse(sent)
    return PendingGroup(
        head.entity,
        head.record_id,
        head.op,
        head.fields,
        head.base_version,
        head.seqs,
        more=True,
    )


def same_value(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return str(ours.get("id", "")).lower() == str(theirs.get("id", "")).lower()
    if (
        isinstance(ours, int | float)
        and isinstance(theirs, int | float)
        and not isinstance(ours, bool)
        and not isinstance(theirs, bool)
    ):
        return math.isclose(float(ours), float(theirs), rel_tol=1e-9, abs_tol=1e-5)
    if ours in ("", None) and theirs in ("", None):
        return True
    return bool(ours == theirs)


def server_has(fields: Mapping[str, Any], server: Mapping[str, Any]) -> bool:
    """The server already holds exactly these values (our earlier attempt got through)."""
    return all(same_value(value, server.get(name)) for name, value in fields.items())


def conflict_kind(op: str, server_exists: bool) -> str:
    if op == "delete":
        return "delete-update"
    return "update-update" if server_exists else "update-delete"


def device_wins_body(server: Mapping[str, Any], changed: Mapping[str, Any]) -> dict[str, Any]:
    """Device wins on the fields it changed only; every other field takes the server's value."""
    merged = dict(server)
    merged.update(changed)
    return merged


def changed_fields(body: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Fields of `body` that differ from `base` (what a merged result must still push)."""
    keys = set(body) | set(base)
    return {k: body.get(k) for k in keys if not same_value(body.get(k), base.get(k))}
