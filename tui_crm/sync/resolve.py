"""The user's decision on a kept conflict (DB thread): take server, take device, or a merge.

The conflict row stays as a log with its resolution; the record and the
outbox are rewritten in the same transaction so the decision is pushed by
the next sync against the server version the user saw.
"""

from __future__ import annotations

from typing import Any

from tui_crm.connectors.base import RemoteRecord
from tui_crm.domain.conflicts import Conflict
from tui_crm.domain.errors import DomainError, RecordMissing
from tui_crm.store import sync_store as ss
from tui_crm.store.database import Connection, transaction
from tui_crm.store.entities import load_entity
from tui_crm.sync.apply import group_of, take_device, take_server
from tui_crm.sync.merge import PendingGroup, changed_fields


class ConflictUnknown(DomainError):
    def __init__(self, conflict_id: int) -> None:
        super().__init__(f"no open conflict with id {conflict_id}")


def resolve_conflict(
    conn: Connection, conflict_id: int, take: str, merged: dict[str, Any] | None = None
) -> Conflict:
    """`take` is 'server', 'device' or 'merged' (then `merged` holds the chosen field values)."""
    with transaction(conn):
        conflict = ss.get_conflict(conn, conflict_id)
        if conflict is None or conflict.resolution is not None:
            raise ConflictUnknown(conflict_id)
        entity = load_entity(conn, conflict.entity)
        server = (
            RemoteRecord(conflict.record_id, conflict.server, conflict.server_version)
            if conflict.server is not None
            else None
        )
        current = ss.get_local(conn, conflict.entity, conflict.record_id)
        if take == "server":
            take_server(conn, entity, conflict.record_id, server)
        elif take in ("device", "merged"):
            if current is None:
                raise RecordMissing(conflict.entity, conflict.record_id)
            group = group_of(conn, conflict.entity, conflict.record_id) or PendingGroup(
                conflict.entity, conflict.record_id, "update", {}, current.server_version, ()
            )
            fields: dict[str, Any] | None = None
            if take == "merged":
                if merged is None:
                    raise DomainError("a merge needs the chosen field values")
                fields = changed_fields(merged, server.fields if server else {})
                if server is not None:
                    group = PendingGroup(
                        group.entity, group.record_id, "update", fields, None, group.seqs
                    )
                else:
                    current = ss.LocalRecord(
                        current.rowid,
                        current.id,
                        current.state,
                        current.server_version,
                        dict(merged),
                        current.base_body,
                    )
            elif group.op in ("create", "update") and server is not None:
                fields = changed_fields(current.body, current.base_body or {})
                fields.update(group.fields)
            take_device(conn, entity, current, group, server, fields)
        else:
            raise DomainError("take must be 'server' or 'device'")
        ss.resolve_conflict_row(conn, conflict_id, take)
        resolved = ss.get_conflict(conn, conflict_id)
    assert resolved is not None
    return resolved
