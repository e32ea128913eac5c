"""services.overview: the numbers Home shows, without loading the outbox."""

from __future__ import annotations

from tests.ui.conftest import PASSWORD
from tui_crm.config import Settings
from tui_crm.domain import ChangeOp
from tui_crm.services.overview import outbox_head, overview
from tui_crm.services.profile import ProfileService


async def test_overview_counts_and_outbox_head(settings: Settings) -> None:
    session = await ProfileService(settings.profile, kdf=settings.kdf).create(PASSWORD)
    try:
        empty = await overview(session)
        assert empty.outbox == 0 and empty.open_conflicts == 0 and empty.last_run is None
        made = [await session.records.create("account", {"name": f"Account {n}"}) for n in range(3)]
        await session.records.update("account", made[0].id, {"telephone1": "+47 1234"})
        summary = await overview(session)
        assert summary.counts["account"] == 3
        assert summary.outbox == len(await session.records.outbox())
        assert summary.outbox >= 3
        head, total = await outbox_head(session, 2)
        assert total == summary.outbox
        assert [c.op for c in head] == [ChangeOp.CREATE, ChangeOp.CREATE]
        assert head[0].seq < head[1].seq, "oldest first"
    finally:
        await session.close()
