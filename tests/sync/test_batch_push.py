"""Push in one multipart `$batch`: fewer round trips, each outcome kept on its own record.

Every write is its own change set and the batch continues on error, so a
conflict or a refusal touches only its record; a batch whose answer is lost
is re-sent and applies nothing twice (each write is conditional).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_crm.domain.errors import ConnectionFailed
from tui_crm.domain.records import RecordState
from tui_crm.services.session import Session

from .conftest import FAST_RETRIES, Emu, connect, make_settings
from .test_sync_emulator import assert_converged

pytestmark = pytest.mark.asyncio


def _writes(emu: Emu) -> dict[str, int]:
    counts = {"batch": 0, "single": 0}
    for line in emu.raw.request_log:
        method, _, target = line.partition(" ")
        if method == "POST" and target.startswith("/api/data/v9.2/$batch"):
            counts["batch"] += 1
        elif method in ("PATCH", "DELETE", "POST"):
            counts["single"] += 1
    return counts


async def test_many_changes_go_in_one_batch_and_each_outcome_stays_with_its_record(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account", "contact"])
    ids = sorted(emu.ids("account"))
    doomed, clash, gone = ids[0], ids[1], ids[2]
    edited = ids[3:]
    for number, record_id in enumerate(edited):
        await session.records.update("account", record_id, {"telephone1": f"+1 555 01{number:02d}"})
    await session.records.update("account", clash, {"name": "device name"})
    await session.records.delete("account", gone)
    made = [await session.records.create("account", {"name": f"batch {n}"}) for n in range(5)]
    orphan = await session.records.create(
        "contact", {"lastname": "Orphan", "parentcustomerid": {"entity": "account", "id": doomed}}
    )
    emu.update("account", clash, {"name": "server name"})
    emu.delete("account", doomed)
    changes = len(edited) + 1 + 1 + len(made) + 1
    emu.raw.clear_request_log()

    summary = await sync.sync(["account", "contact"])

    writes = _writes(emu)
    # One $batch of the writes, then (pulling) one $batch of both tables' delta GETs.
    assert writes == {"batch": 2, "single": 0}, emu.raw.request_log
    assert summary["requests"] < changes // 2, summary
    assert summary["pushed"] == len(edited) + 1 + len(made)
    assert summary["conflicts"] == 1 and summary["errors"] == 1
    for number, record_id in enumerate(edited):
        assert emu.get("account", record_id)["telephone1"] == f"+1 555 01{number:02d}"  # type: ignore[index]
        assert (await session.records.get("account", record_id)).state is RecordState.SYNCED
    assert gone not in emu.ids("account")
    names = [r["name"] for r in emu.raw.records("account")]
    assert all(names.count(r.fields["name"]) == 1 for r in made)
    [conflict] = await sync.conflicts(open_only=True)
    assert conflict.record_id == clash and conflict.kind == "update-update"
    assert emu.get("account", clash)["name"] == "server name"  # type: ignore[index]
    assert (await session.records.get("account", clash)).state is RecordState.CONFLICT
    refused = await session.records.get("contact", orphan.id)
    assert refused.state is RecordState.ERROR and refused.sync_error
    assert emu.get("contact", orphan.id) is None
    assert {c.record_id for c in await session.records.outbox()} == {clash, orphan.id}


async def test_a_batch_whose_answer_is_lost_applies_nothing_twice(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    sync = await connect(session, make_settings(tmp_path), emu)
    await sync.sync(["account"])
    ids = sorted(emu.ids("account"))
    for number, record_id in enumerate(ids[:8]):
        await session.records.update("account", record_id, {"telephone1": f"+1 555 02{number:02d}"})
    await session.records.delete("account", ids[8])
    made = [await session.records.create("account", {"name": f"lost batch {n}"}) for n in range(4)]
    emu.raw.queue_faults(*(("truncate",) * FAST_RETRIES.max_attempts))
    with pytest.raises(ConnectionFailed):
        await sync.sync(["account"])
    await session.records.update("account", ids[0], {"name": "edited after the lost batch"})

    summary = await sync.sync(["account"])

    assert summary["errors"] == 0 and summary["conflicts"] == 0
    names = [r["name"] for r in emu.raw.records("account")]
    for record in made:
        assert names.count(record.fields["name"]) == 1
    for number, record_id in enumerate(ids[:8]):
        assert emu.get("account", record_id)["telephone1"] == f"+1 555 02{number:02d}"  # type: ignore[index]
    assert emu.get("account", ids[0])["name"] == "edited after the lost batch"  # type: ignore[index]
    assert ids[8] not in emu.ids("account")
    assert await session.records.outbox() == []
    await assert_converged(session, emu, "account", ["name", "telephone1"])
