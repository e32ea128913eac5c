"""What a pulled page or a push result does to the store (DB thread, one transaction each).

The rule that keeps edits safe: a server version never replaces a record
that has pending local changes unless a conflict decision says so, and every
decision against the device is written to the conflict log first.
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any

from tui_crm.connectors.base import (
    Applied,
    ConflictResult,
    PullPage,
    PushResult,
    Rejected,
    RemoteRecord,
)
from tui_crm.domain.conflicts import ConflictPolicy
from tui_crm.domain.entities import EntityDef
from tui_crm.store import sync_store as ss
from tui_crm.store.database import Connection, transaction
from tui_crm.store.indexing import linkable_entities
from tui_crm.sync.merge import (
    OutboxRow,
    PendingGroup,
    collapse,
    conflict_kind,
    device_wins_body,
    next_write,
    server_has,
)


@dataclass
class Tally:
    pulled: int = 0
    pushed: int = 0
    deleted: int = 0
    conflicts: int = 0
    errors: int = 0

    def add(self, other: Tally) -> None:
        self.pulled += other.pulled
        self.pushed += other.pushed
        self.deleted += other.deleted
        self.conflicts += other.conflicts
        self.errors += other.errors


def _outbox(
    conn: Connection, entity: str | None = None, record_id: str | None = None
) -> list[OutboxRow]:
    return [
        # Sent and not refused: the answer was lost, the server may have applied it.
        OutboxRow(seq, ent, rid, op, fields, base, sent=attempts > 0 and status != "failed")
        for seq, ent, rid, op, fields, base, status, attempts in ss.outbox_rows(
            conn, entity, record_id
        )
    ]


def group_of(conn: Connection, entity: str, record_id: str) -> PendingGroup | None:
    """Every pending row of the record collapsed (what the device still wants in the end)."""
    rows = _outbox(conn, entity, record_id)
    return collapse(rows) if rows else None


def _settle_own_write(
    conn: Connection, entity: EntityDef, record_id: str, server: RemoteRecord
) -> None:
    """`server` holds our earlier write: later rows build on it, or the record is synced."""
    if group_of(conn, entity.name, record_id) is not None:
        ss.set_base(conn, entity.name, record_id, server.version, server.fields)
        ss.rebase_outbox(conn, entity.name, record_id, server.version)
    else:
        _store_synced(conn, entity, server)


def _store_synced(
    conn: Connection,
    entity: EntityDef,
    record: RemoteRecord,
    current: ss.LocalRecord | None = None,
    *,
    absent: bool = False,
) -> None:
    ss.put_record(
        conn,
        entity,
        record.id,
        record.fields,
        state="synced",
        server_version=record.version,
        base_body=record.fields,
        modified_on=record.modified_on,
        known_rowid=current.rowid if current is not None else None,
        known_absent=absent,
    )


def encode_page(entity: EntityDef, page: PullPage, linkable: Container[str]) -> bytes:
    """The page's upserts as `put_synced_many` takes them: made off the DB thread (no SQL)."""
    return ss.encode_synced(entity, _server_rows(page.upserts), linkable)


def _server_rows(records: list[RemoteRecord]) -> Iterator[ss.ServerRow]:
    return ((r.id, r.fields, r.version, r.modified_on) for r in records)


def apply_page(
    conn: Connection,
    entity: EntityDef,
    page: PullPage,
    policy: ConflictPolicy,
    scope: str = "",
    encoded: bytes | None = None,
) -> Tally:
    """Upserts, deletions and the next checkpoint (made under `scope`) of one page, atomically.

    `encoded` (from `encode_page`) spares the DB thread the per-row Python
    work; without it the page is encoded here.
    """
    with ss.server_copy_durability(conn), transaction(conn):
        tally = _apply_records(conn, entity, page.upserts, page.deletes, policy, encoded)
        ss.set_checkpoint(conn, entity.name, page.checkpoint.kind, page.checkpoint.value, scope)
    return tally


def cache_records(conn: Connection, entity: EntityDef, records: list[RemoteRecord]) -> Tally:
    """Online mode: keep what the server showed, under the same rules as a pull (no checkpoint)."""
    with transaction(conn):
        return _apply_records(conn, entity, records, [], ConflictPolicy.MANUAL)


def _apply_records(
    conn: Connection,
    entity: EntityDef,
    upserts: list[RemoteRecord],
    deletes: list[str],
    policy: ConflictPolicy,
    encoded: bytes | None = None,
) -> Tally:
    tally = Tally()
    ids = [r.id for r in upserts] + list(deletes)
    local = ss.local_states(conn, entity.name, ids)
    plain: dict[str, int] = {}
    """Rows with no local changes, by id (the last of a repeated id): written in one bulk step."""
    pending: dict[str, tuple[ss.LocalRecord, RemoteRecord]] = {}
    for index, record in enumerate(upserts):
        current = local.get(record.id)
        if current is not None and current.state != "synced":
            pending[record.id] = (current, record)
        elif (
            current is None
            or current.server_version != record.version
            or current.server_version is None
        ):
            plain[record.id] = index
    if plain:
        if encoded is None:
            linkable = linkable_entities(conn)
            encoded = ss.encode_synced(entity, _server_rows(upserts), linkable)
        placements = {pos: local[i].rowid if i in local else None for i, pos in plain.items()}
        ss.put_synced_many(conn, entity, encoded, placements)
        tally.pulled += len(plain)
    for current, record in pending.values():
        tally.add(_meet_pending(conn, entity, current, record, policy))
    for record_id in deletes:
        current = local.get(record_id)
        if current is None:
            continue
        if current.state == "synced":
            ss.drop_record(conn, entity.name, record_id)
            tally.deleted += 1
        else:
            tally.add(_meet_pending(conn, entity, current, None, policy))
    return tally


def sweep_missing(conn: Connection, entity: EntityDef, server_ids: set[str]) -> int:
    """Drop synced records the server no longer has (or that left the filter)."""
    with transaction(conn):
        gone = ss.synced_ids(conn, entity.name) - server_ids
        for record_id in gone:
            ss.drop_record(conn, entity.name, record_id)
    return len(gone)


def _meet_pending(
    conn: Connection,
    entity: EntityDef,
    current: ss.LocalRecord,
    server: RemoteRecord | None,
    policy: ConflictPolicy,
) -> Tally:
    """A server version arrives for a record with local changes (pull path)."""
    tally = Tally()
    rows = _outbox(conn, entity.name, current.id)
    group = collapse(rows) if rows else None
    conflict_id = ss.open_conflict_id(conn, entity.name, current.id)
    if conflict_id is not None:
        # Already waiting for the user: keep the newest server side for the merge view.
        kind = conflict_kind(group.op if group else "update", server is not None)
        ss.update_conflict_server(
            conn,
            conflict_id,
            kind,
            server.fields if server else None,
            server.version if server else None,
        )
        return tally
    if group is None:
        if server is None:
            ss.drop_record(conn, entity.name, current.id)
            tally.deleted += 1
        else:
            _store_synced(conn, entity, server)
            tally.pulled += 1
        return tally
    if server is not None and server.version == current.server_version:
        return tally
    return _decide(conn, entity, current, next_write(rows), server, policy)


def _decide(
    conn: Connection,
    entity: EntityDef,
    current: ss.LocalRecord,
    group: PendingGroup,
    server: RemoteRecord | None,
    policy: ConflictPolicy,
) -> Tally:
    """Server state differs from the base of `group`: our own write, or a real conflict."""
    tally = Tally()
    if server is None and group.op in ("delete", "none"):
        ss.drop_record(conn, entity.name, current.id)
        ss.remove_outbox(conn, group.seqs)
        tally.deleted += 1
        return tally
    if (
        server is not None
        and group.op in ("create", "update")
        and server_has(group.fields, server.fields)
    ):
        ss.remove_outbox(conn, group.seqs)
        _settle_own_write(conn, entity, current.id, server)
        tally.pushed += 1
        return tally
    if group.more:
        # A real conflict is decided on everything the device still wants.
        group = group_of(conn, entity.name, current.id) or group
    tally.conflicts += 1
    kind = conflict_kind(group.op, server is not None)
    device = None if group.op == "delete" else current.body
    server_fields = server.fields if server is not None else None
    version = server.version if server is not None else None
    existing = ss.open_conflict_id(conn, entity.name, current.id)
    if policy is ConflictPolicy.MANUAL:
        if existing is not None:
            ss.update_conflict_server(conn, existing, kind, server_fields, version)
        else:
            ss.add_conflict(
                conn,
                entity=entity.name,
                record_id=current.id,
                kind=kind,
                base=current.base_body,
                server=server_fields,
                device=device,
                server_version=version,
                resolution=None,
            )
        ss.mark_pending(conn, group.seqs)
        ss.set_record_state(conn, entity.name, current.id, "conflict", None)
        return tally
    resolution = "server" if policy is ConflictPolicy.SERVER_WINS else "device"
    if existing is not None:
        ss.update_conflict_server(conn, existing, kind, server_fields, version)
        ss.resolve_conflict_row(conn, existing, resolution)
    else:
        ss.add_conflict(
            conn,
            entity=entity.name,
            record_id=current.id,
            kind=kind,
            base=current.base_body,
            server=server_fields,
            device=device,
            server_version=version,
            resolution=resolution,
        )
    if policy is ConflictPolicy.SERVER_WINS:
        take_server(conn, entity, current.id, server)
    else:
        take_device(conn, entity, current, group, server)
    return tally


def take_server(
    conn: Connection, entity: EntityDef, record_id: str, server: RemoteRecord | None
) -> None:
    ss.remove_outbox_for(conn, entity.name, record_id)
    if server is None:
        ss.drop_record(conn, entity.name, record_id)
    else:
        _store_synced(conn, entity, server)


def take_device(
    conn: Connection,
    entity: EntityDef,
    current: ss.LocalRecord,
    group: PendingGroup,
    server: RemoteRecord | None,
    fields: dict[str, Any] | None = None,
) -> None:
    """Re-queue the device's side on top of the server's current version (changed fields only)."""
    mutation = str(uuid.uuid4())
    if server is None:
        body = dict(current.body)
        ss.replace_outbox(conn, entity.name, current.id, "create", body, None, mutation)
        ss.put_record(
            conn,
            entity,
            current.id,
            body,
            state="created",
            server_version=None,
            base_body=None,
            modified_on=None,
        )
        return
    if group.op in ("delete", "none"):
        ss.replace_outbox(conn, entity.name, current.id, "delete", {}, server.version, mutation)
        ss.set_base(conn, entity.name, current.id, server.version, server.fields)
        ss.set_record_state(conn, entity.name, current.id, "deleted", None)
        return
    changed = dict(group.fields if fields is None else fields)
    body = device_wins_body(server.fields, changed)
    ss.replace_outbox(conn, entity.name, current.id, "update", changed, server.version, mutation)
    ss.put_record(
        conn,
        entity,
        current.id,
        body,
        state="updated",
        server_version=server.version,
        base_body=server.fields,
        modified_on=server.modified_on,
    )


def pending_groups(conn: Connection) -> list[PendingGroup]:
    """Every record's pending writes, collapsed; records held in a manual conflict are skipped."""
    by_record: dict[tuple[str, str], list[OutboxRow]] = {}
    for row in _outbox(conn):
        by_record.setdefault((row.entity, row.record_id), []).append(row)
    held = {(c.entity, c.record_id) for c in ss.list_conflicts(conn, open_only=True)}
    return [next_write(rows) for key, rows in by_record.items() if key not in held]


def begin_push(conn: Connection, group: PendingGroup) -> None:
    with transaction(conn):
        ss.mark_in_flight(conn, group.seqs)


def drop_unsent(conn: Connection, entity: EntityDef, group: PendingGroup) -> None:
    """Created and deleted before the server ever saw it: nothing to send."""
    with transaction(conn):
        ss.remove_outbox(conn, group.seqs)
        ss.drop_record(conn, entity.name, group.record_id)


def apply_push_result(
    conn: Connection,
    entity: EntityDef,
    group: PendingGroup,
    result: PushResult,
    policy: ConflictPolicy,
) -> Tally:
    tally = Tally()
    with transaction(conn):
        current = ss.get_local(conn, entity.name, group.record_id)
        if isinstance(result, Applied):
            tally.pushed += 1
            ss.remove_outbox(conn, group.seqs)
            newer = group_of(conn, entity.name, group.record_id)
            if group.op == "delete" or result.record is None:
                if newer is None:
                    ss.drop_record(conn, entity.name, group.record_id)
                return tally
            if newer is not None and current is not None:
                ss.set_base(
                    conn, entity.name, group.record_id, result.record.version, result.record.fields
                )
                ss.rebase_outbox(conn, entity.name, group.record_id, result.record.version)
            else:
                _store_synced(conn, entity, result.record)
            return tally
        if isinstance(result, Rejected):
            tally.errors += 1
            ss.mark_failed(conn, group.seqs, result.reason)
            if current is not None:
                ss.set_record_state(conn, entity.name, group.record_id, "error", result.reason)
            return tally
        if current is None:
            ss.remove_outbox(conn, group.seqs)
            return tally
        assert isinstance(result, ConflictResult)
        return _decide(conn, entity, current, group, result.server, policy)


def release_in_flight(conn: Connection, group: PendingGroup, reason: str) -> None:
    """The push could not be completed (server down, cancelled): keep it pending for next time."""
    with transaction(conn):
        ss.mark_pending(conn, group.seqs, reason)


def begin_push_many(conn: Connection, groups: list[PendingGroup]) -> None:
    """Writes about to leave together (one batch): all marked sent in one transaction."""
    with transaction(conn):
        for group in groups:
            ss.mark_in_flight(conn, group.seqs)


def release_in_flight_many(conn: Connection, groups: list[PendingGroup], reason: str) -> None:
    with transaction(conn):
        for group in groups:
            ss.mark_pending(conn, group.seqs, reason)
