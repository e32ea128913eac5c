"""What Home and the Outbox screen show, computed without loading whole tables.

A device that has been offline for a week can hold 100k pending changes;
the interface needs their number and the first page, never the full list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_crm.domain.changes import Change
from tui_crm.store import outbox
from tui_crm.store import sync_store as ss

if TYPE_CHECKING:
    from tui_crm.services.session import Session


@dataclass(frozen=True, slots=True)
class Overview:
    counts: dict[str, int]
    outbox: int
    open_conflicts: int
    last_run: dict[str, Any] | None
    """The latest sync run (started_at, finished_at, status, summary), None before any."""


async def overview(session: Session) -> Overview:
    counts = await session.records.counts()

    def work(conn: Any) -> tuple[int, int, dict[str, Any] | None]:
        pending = outbox.count_changes(conn)
        conflicts = len(ss.list_conflicts(conn, open_only=True))
        runs = ss.recent_runs(conn, 1)
        return pending, conflicts, (runs[0] if runs else None)

    pending, conflicts, last_run = await session.run(work)
    return Overview(counts=counts, outbox=pending, open_conflicts=conflicts, last_run=last_run)


async def outbox_head(session: Session, limit: int) -> tuple[list[Change], int]:
    """The oldest `limit` changes and how many there are in all."""

    def work(conn: Any) -> tuple[list[Change], int]:
        return outbox.first_changes(conn, limit), outbox.count_changes(conn)

    return await session.run(work)
