"""Record and outbox change commit together; coalescing never rewrites a sent change."""

from __future__ import annotations

import pytest

from tui_crm.domain import ChangeOp, RecordState
from tui_crm.services import Session
from tui_crm.store import outbox


async def test_a_failure_between_record_and_outbox_rolls_back_both(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut between the two writes")

    monkeypatch.setattr(outbox, "add_create", explode)
    with pytest.raises(RuntimeError):
        await session.records.create("account", {"name": "Half written"})
    monkeypatch.undo()
    assert (await session.records.counts())["account"] == 0
    assert (await session.records.list("account", search="half")).records == []
    assert await session.records.outbox() == []
    assert (await session.check()).ok


async def test_a_failed_update_keeps_the_old_record_and_index(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await session.records.create("account", {"name": "Before"})

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash")

    monkeypatch.setattr(outbox, "add_update", explode)
    with pytest.raises(RuntimeError):
        await session.records.update("account", created.id, {"name": "After"})
    monkeypatch.undo()
    assert (await session.records.get("account", created.id)).name == "Before"
    assert len((await session.records.list("account", search="before")).records) == 1
    assert (await session.records.list("account", search="after")).records == []


async def _mark_synced(session: Session, entity: str, record_id: str) -> None:
    """What sync does after a successful push: the record has a server version, no change."""

    def work(conn: object) -> None:
        conn.execute(  # type: ignore[attr-defined]
            "UPDATE records SET state = 'synced', server_version = 'v1' WHERE id = ?", (record_id,)
        )
        conn.execute("DELETE FROM outbox WHERE record_id = ?", (record_id,))  # type: ignore[attr-defined]

    await session.write(work)


async def test_updates_of_a_synced_record_carry_the_base_version_and_coalesce(
    session: Session,
) -> None:
    created = await session.records.create("account", {"name": "Acme"})
    await _mark_synced(session, "account", created.id)
    first = await session.records.update("account", created.id, {"telephone1": "123"})
    assert first.state == RecordState.UPDATED
    await session.records.update("account", created.id, {"fax": "456"})
    changes = await session.records.outbox()
    assert [(c.op, c.fields, c.base_version) for c in changes] == [
        (ChangeOp.UPDATE, {"telephone1": "123", "fax": "456"}, "v1")
    ]


async def test_a_change_already_sent_is_never_rewritten(session: Session) -> None:
    created = await session.records.create("account", {"name": "Acme"})
    await session.write(lambda conn: conn.execute("UPDATE outbox SET attempts = 1"))
    await session.records.update("account", created.id, {"telephone1": "123"})
    changes = await session.records.outbox()
    assert [(c.op, c.fields) for c in changes] == [
        (ChangeOp.CREATE, {"name": "Acme"}),
        (ChangeOp.UPDATE, {"telephone1": "123"}),
    ]
    await session.records.delete("account", created.id)
    changes = await session.records.outbox()
    assert [c.op for c in changes] == [ChangeOp.CREATE, ChangeOp.DELETE]
    assert len({c.mutation_id for c in changes}) == 2


async def test_delete_of_a_synced_record_queues_a_delete_and_hides_it(session: Session) -> None:
    created = await session.records.create("account", {"name": "Acme"})
    await _mark_synced(session, "account", created.id)
    await session.records.update("account", created.id, {"telephone1": "1"})
    await session.records.delete("account", created.id)
    changes = await session.records.outbox()
    assert [(c.op, c.base_version) for c in changes] == [(ChangeOp.DELETE, "v1")]
    assert (await session.records.list("account")).records == []
    assert (await session.records.counts())["account"] == 0


async def test_an_update_that_changes_nothing_queues_nothing(session: Session) -> None:
    created = await session.records.create("account", {"name": "Acme"})
    await _mark_synced(session, "account", created.id)
    same = await session.records.update("account", created.id, {"name": "Acme"})
    assert same.state == RecordState.SYNCED
    assert await session.records.outbox() == []
