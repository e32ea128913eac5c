"""Model-based check: replaying the outbox on the server's copy always yields the device's data.

Random sequences of local creates, updates, deletes and simulated sync rounds;
after each step the local records must equal a plain-dict model, and applying
the outbox changes in order to the server's copy must reproduce them exactly.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_crm.config import KdfSettings
from tui_crm.domain import ChangeOp, RecordMissing
from tui_crm.services import ProfileService, Session

CHEAP_KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)
FIELDS = ("telephone1", "address1_city", "description")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 3)),
        st.tuples(
            st.just("update"),
            st.integers(0, 3),
            st.sampled_from(FIELDS),
            st.one_of(st.none(), st.sampled_from(["1", "2", "+47 22 33"])),
        ),
        st.tuples(st.just("delete"), st.integers(0, 3)),
        st.tuples(st.just("sync")),
    ),
    min_size=1,
    max_size=15,
)


def _apply(
    server: dict[str, dict[str, Any]], op: ChangeOp, rid: str, fields: dict[str, Any]
) -> None:
    if op == ChangeOp.CREATE:
        server[rid] = dict(fields)
    elif op == ChangeOp.UPDATE:
        for name, value in fields.items():
            if value is None:
                server[rid].pop(name, None)
            else:
                server[rid][name] = value
    else:
        server.pop(rid, None)


async def _run(steps: list[tuple[Any, ...]], folder: Path) -> None:
    session = await ProfileService(folder, kdf=CHEAP_KDF).create("pw-model")
    try:
        await _check_steps(session, steps)
    finally:
        await session.close()


async def _check_steps(session: Session, steps: list[tuple[Any, ...]]) -> None:
    local: dict[str, dict[str, Any]] = {}
    server: dict[str, dict[str, Any]] = {}
    slots: dict[int, str] = {}
    version = 0
    for step in steps:
        kind = step[0]
        if kind == "create":
            record = await session.records.create("account", {"name": f"Slot {step[1]}"})
            slots[step[1]] = record.id
            local[record.id] = {"name": f"Slot {step[1]}"}
        elif kind in ("update", "delete") and step[1] in slots and slots[step[1]] in local:
            rid = slots[step[1]]
            if kind == "update":
                await session.records.update("account", rid, {step[2]: step[3]})
                if step[3] is None:
                    local[rid].pop(step[2], None)
                else:
                    local[rid][step[2]] = step[3]
            else:
                await session.records.delete("account", rid)
                del local[rid]
        elif kind == "sync":
            version += 1
            for change in await session.records.outbox():
                _apply(server, change.op, change.record_id, change.fields)
            await session.write(lambda conn, v=version: _pretend_pushed(conn, v))
        # Invariant 1: the device shows exactly the model.
        for rid, fields in local.items():
            assert (await session.records.get("account", rid)).fields == fields
        for rid in set(slots.values()) - set(local):
            try:
                await session.records.get("account", rid)
            except RecordMissing:
                pass
            else:
                raise AssertionError("deleted record still visible")
        # Invariant 2: server copy + outbox replay == device.
        replay = {rid: dict(fields) for rid, fields in server.items()}
        for change in await session.records.outbox():
            _apply(replay, change.op, change.record_id, change.fields)
        assert replay == local


def _pretend_pushed(conn: Any, version: int) -> None:
    """What a successful push does: the outbox is empty and records carry a server version."""
    conn.execute("DELETE FROM outbox")
    conn.execute("DELETE FROM records WHERE state = 'deleted'")
    conn.execute(
        "UPDATE records SET state = 'synced', server_version = ? WHERE state != 'synced'",
        (str(version),),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_outbox_replay_reproduces_the_device(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        asyncio.run(_run(steps, Path(scratch) / "p"))
