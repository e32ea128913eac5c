"""The sync run: push the outbox, pull every entity from its checkpoint, push what pull re-queued.

Order and why: pushing first sends the device's edits against the versions
they were made on, so a concurrent server edit surfaces as a 412 conflict
at once; the pull that follows brings the server's side including our own
writes (recognised by version and skipped). A pull-time conflict resolved
"device wins" re-queues a change, hence the last push.

Every page is committed together with its checkpoint and every push result
in its own transaction, so a run killed at any instant resumes where it was
and converges; a run still marked "running" at start is marked interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from tui_crm.connectors.base import (
    Checkpoint,
    Connector,
    DeltaExpired,
    PullPage,
    PullRequest,
    PushOp,
    PushResult,
)
from tui_crm.connectors.http import TrafficCounters
from tui_crm.domain.conflicts import ConflictPolicy
from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import ConnectionFailed, DomainError
from tui_crm.store import sync_store as ss
from tui_crm.store.database import Connection, transaction
from tui_crm.store.indexing import linkable_entities
from tui_crm.sync import apply
from tui_crm.sync.apply import Tally
from tui_crm.sync.merge import PendingGroup

T = TypeVar("T")

MAX_PUSH_PASSES = 3
Prepared = tuple[PullPage, bytes] | Exception | None
"""What the fetching side hands the applying side: a page and its encoded rows, its
failure, or the end."""
PIPELINE_PAGES = 1
"""Prepared pages waiting for the DB thread (each up to a page size of records)."""
PUSH_BATCH = 200
"""Independent writes sent together (one `$batch` round trip on Dataverse)."""


class SyncCancelled(DomainError):
    """The user cancelled; everything committed so far stays, the rest resumes next time."""

    def __init__(self) -> None:
        super().__init__("sync cancelled: finished pages are kept, the rest resumes next time")


class DbRunner(Protocol):
    """Runs a function on the DB thread with the connection and returns its result."""

    def __call__(self, fn: Callable[[Connection], T]) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class EntityPlan:
    entity: EntityDef
    filter: str = ""
    policy: ConflictPolicy = ConflictPolicy.MANUAL


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of a run, for progress bars: `done` counts records of `entity` so far."""

    phase: str
    entity: str
    done: int
    requests: int
    bytes_received: int
    bytes_sent: int
    seconds: float
    errors: int = 0
    expected: int | None = None
    """Records this pull is expected to walk, when the server said (first pulls only)."""


ProgressCallback = Callable[[Progress], None]

SUMMARY_KEYS = (
    "pulled",
    "pushed",
    "deleted",
    "conflicts",
    "errors",
    "requests",
    "bytes_received",
    "bytes_sent",
    "seconds",
)


class SyncEngine:
    def __init__(
        self,
        db: DbRunner,
        connector: Connector,
        counters: TrafficCounters,
        *,
        page_size: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._connector = connector
        self._counters = counters
        self._page_size = page_size
        self._clock = clock
        self._cancelled = False
        self._started = 0.0
        self._base_counts: dict[str, int] = {}
        self.interrupted_runs = 0
        self._refused: set[tuple[str, str]] = set()
        """Records the server refused in this run: reported once, retried next run."""

    def cancel(self) -> None:
        self._cancelled = True

    def _check_cancel(self) -> None:
        if self._cancelled:
            raise SyncCancelled()

    def _progress(
        self,
        callback: ProgressCallback | None,
        phase: str,
        entity: str,
        done: int,
        errors: int = 0,
        expected: int | None = None,
    ) -> None:
        if callback is None:
            return
        traffic = self._traffic()
        callback(
            Progress(
                phase=phase,
                entity=entity,
                done=done,
                requests=traffic["requests"],
                bytes_received=traffic["bytes_received"],
                bytes_sent=traffic["bytes_sent"],
                seconds=self._clock() - self._started,
                errors=errors,
                expected=expected,
            )
        )

    def _traffic(self) -> dict[str, int]:
        now = self._counters.snapshot()
        return {k: now[k] - self._base_counts.get(k, 0) for k in now}

    async def run(
        self, plans: Sequence[EntityPlan], progress: ProgressCallback | None = None
    ) -> dict[str, Any]:
        """One complete run; the summary has exactly the keys of CLI.md's `sync --json`."""
        self._started = self._clock()
        self._base_counts = self._counters.snapshot()
        run_id, self.interrupted_runs = await self._db(begin_run_tx)
        tally = Tally()
        status = "failed"
        try:
            by_name = {p.entity.name: p for p in plans}
            await self._push(by_name, tally, progress)
            first_pages = await self._first_pages(plans)
            for plan in plans:
                self._check_cancel()
                await self._pull(plan, tally, progress, first_pages.get(plan.entity.name))
            await self._push(by_name, tally, progress)
            status = "done"
        except SyncCancelled:
            status = "cancelled"
            raise
        finally:
            summary = self._summary(tally)
            await self._db(lambda conn: _finish(conn, run_id, status, summary))
        return summary

    def _summary(self, tally: Tally) -> dict[str, Any]:
        traffic = self._traffic()
        return {
            "pulled": tally.pulled,
            "pushed": tally.pushed,
            "deleted": tally.deleted,
            "conflicts": tally.conflicts,
            "errors": tally.errors,
            "requests": traffic["requests"],
            "bytes_received": traffic["bytes_received"],
            "bytes_sent": traffic["bytes_sent"],
            "seconds": round(self._clock() - self._started, 3),
        }

    async def _push(
        self, plans: Mapping[str, EntityPlan], tally: Tally, progress: ProgressCallback | None
    ) -> None:
        entity_defs = {name: plan.entity for name, plan in plans.items()}
        for _ in range(MAX_PUSH_PASSES):
            groups = [
                g
                for g in await self._db(apply.pending_groups)
                if g.entity in entity_defs and (g.entity, g.record_id) not in self._refused
            ]
            if not groups:
                return
            requeued = False
            for group in groups:
                if group.op == "none":
                    self._check_cancel()
                    plan = plans[group.entity]
                    await self._db(partial(apply.drop_unsent, entity=plan.entity, group=group))
            sendable = [g for g in groups if g.op != "none"]
            done = 0
            for start in range(0, len(sendable), PUSH_BATCH):
                self._check_cancel()
                chunk = sendable[start : start + PUSH_BATCH]
                results = await self._send_chunk(entity_defs, chunk)
                for group, result in zip(chunk, results, strict=True):
                    done += 1
                    requeued |= await self._apply_result(
                        plans[group.entity], group, result, tally, progress, done
                    )
            if not requeued:
                return

    async def _send_chunk(
        self, entity_defs: dict[str, EntityDef], chunk: list[PendingGroup]
    ) -> list[PushResult]:
        """Independent writes in as few round trips as the connector allows (one batch)."""
        await self._db(partial(apply.begin_push_many, groups=chunk))
        try:
            if len(chunk) == 1:
                group = chunk[0]
                return [await self._connector.push(entity_defs[group.entity], _push_op(group))]
            return await self._connector.push_many(entity_defs, [_push_op(g) for g in chunk])
        except ConnectionFailed as exc:
            await self._db(partial(apply.release_in_flight_many, groups=chunk, reason=str(exc)))
            raise
        except BaseException:
            await self._db(
                partial(apply.release_in_flight_many, groups=chunk, reason="interrupted")
            )
            raise

    async def _apply_result(
        self,
        plan: EntityPlan,
        group: PendingGroup,
        result: PushResult,
        tally: Tally,
        progress: ProgressCallback | None,
        done: int,
    ) -> bool:
        """Store one write's outcome; True when the record has more to push in another pass."""
        requeued = False
        outcome = await self._db(
            partial(
                apply.apply_push_result,
                entity=plan.entity,
                group=group,
                result=result,
                policy=plan.policy,
            )
        )
        tally.add(outcome)
        if outcome.errors:
            self._refused.add((group.entity, group.record_id))
        if outcome.conflicts and plan.policy is ConflictPolicy.DEVICE_WINS:
            requeued = True
        if group.more and not outcome.errors:
            requeued = True  # the rows queued behind a re-sent write go next pass
        self._progress(progress, "push", group.entity, done, tally.errors)
        return requeued

    async def _checkpoint(self, plan: EntityPlan) -> tuple[Checkpoint | None, bool]:
        """Where this entity's pull starts, and whether it had any checkpoint stored."""
        name = plan.entity.name
        stored = await self._db(lambda c: ss.get_checkpoint(c, name))
        if stored is None:
            return None, False
        expected_kind = "watermark" if plan.filter else "delta"
        if stored[0] != expected_kind or stored[2] != _scope(plan):
            # Another filter (or none): the watermark says nothing about the records the
            # new filter matches, so pull from scratch; the id-only pass after the pull
            # drops synced records that no longer match and keeps those with local edits.
            return None, True
        return Checkpoint(stored[0], stored[1]), True

    async def _first_pages(self, plans: Sequence[EntityPlan]) -> dict[str, PullPage]:
        """Resumed change-tracked pulls ask for their next page together (one round trip)."""
        requests = []
        for plan in plans:
            checkpoint, _ = await self._checkpoint(plan)
            if checkpoint is not None and checkpoint.kind == "delta":
                requests.append(self._pull_request(plan, checkpoint))
        if len(requests) < 2:
            return {}
        return await self._connector.pull_first_pages(requests)

    def _pull_request(self, plan: EntityPlan, checkpoint: Checkpoint | None) -> PullRequest:
        return PullRequest(
            entity=plan.entity,
            fields=[f.name for f in plan.entity.fields],
            filter=plan.filter,
            checkpoint=checkpoint,
            page_size=self._page_size,
        )

    async def _pull(
        self,
        plan: EntityPlan,
        tally: Tally,
        progress: ProgressCallback | None,
        first: PullPage | None = None,
    ) -> None:
        """`first` is this pull's next page when it was already fetched with others'."""
        name = plan.entity.name
        checkpoint, had_checkpoint = await self._checkpoint(plan)
        full = checkpoint is None
        if full and not plan.filter and progress is not None:
            # One small request so a first pull's bar has a length; a filtered pull
            # walks an unknown share of the table, so it gets none.
            counts = await self._connector.record_counts([plan.entity])
            if name in counts:
                self._progress(progress, "pull", name, 0, tally.errors, expected=counts[name])
        try:
            if first is not None and checkpoint is not None:
                done = await self._apply_page(plan, first, tally, progress, 0)
                if not first.final:
                    await self._pull_pages(plan, first.checkpoint, tally, progress, done)
            else:
                await self._pull_pages(plan, checkpoint, tally, progress)
        except DeltaExpired:
            await self._db(lambda c: _clear_checkpoint(c, name))
            full = True
            await self._pull_pages(plan, None, tally, progress)
        if plan.filter or (full and had_checkpoint):
            await self._sweep(plan, tally)

    async def _apply_page(
        self,
        plan: EntityPlan,
        page: PullPage,
        tally: Tally,
        progress: ProgressCallback | None,
        done: int,
        encoded: bytes | None = None,
    ) -> int:
        """Commit one page with its checkpoint; records of this pull done so far."""
        self._check_cancel()
        outcome = await self._db(
            partial(
                apply.apply_page,
                entity=plan.entity,
                page=page,
                policy=plan.policy,
                scope=_scope(plan),
                encoded=encoded,
            )
        )
        tally.add(outcome)
        done += len(page.upserts) + len(page.deletes)
        self._progress(progress, "pull", plan.entity.name, done, tally.errors)
        return done

    async def _pull_pages(
        self,
        plan: EntityPlan,
        checkpoint: Checkpoint | None,
        tally: Tally,
        progress: ProgressCallback | None,
        done: int = 0,
    ) -> None:
        """Pages applied strictly in order, each with its checkpoint, by a three-stage pipeline.

        While the DB thread commits page N, page N+1 is encoded for it on a
        worker thread and page N+2 is on the wire: the DB thread runs only SQL,
        which releases the interpreter lock, so the three overlap instead of
        taking turns. Memory stays bounded: besides the page being written,
        `PIPELINE_PAGES` wait encoded, one more waits to be queued and one is
        being fetched.
        """
        request = self._pull_request(plan, checkpoint)
        linkable = await self._db(linkable_entities)
        ready: asyncio.Queue[Prepared] = asyncio.Queue(PIPELINE_PAGES)
        feeder = asyncio.ensure_future(self._feed(request, linkable, ready))
        try:
            while True:
                item = await ready.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    return
                page, encoded = item
                done = await self._apply_page(plan, page, tally, progress, done, encoded)
        finally:
            if not feeder.done():
                feeder.cancel()
            with contextlib.suppress(BaseException):
                await feeder

    async def _feed(
        self,
        request: PullRequest,
        linkable: frozenset[str],
        ready: asyncio.Queue[Prepared],
    ) -> None:
        """Fetch and encode pages; the next page's request leaves before this one is encoded.

        Ends by queueing None, or the exception that stopped it (a lost server,
        an expired change token) for the applying side to raise in order.
        """
        pages = self._connector.pull(request).__aiter__()
        upcoming: asyncio.Future[PullPage] = asyncio.ensure_future(anext(pages))
        try:
            while True:
                try:
                    page = await upcoming
                except StopAsyncIteration:
                    await ready.put(None)
                    return
                upcoming = asyncio.ensure_future(anext(pages))
                encoded = await asyncio.to_thread(apply.encode_page, request.entity, page, linkable)
                await ready.put((page, encoded))
        except Exception as exc:  # handed over: the applying side raises it in page order
            await ready.put(exc)
        finally:
            if not upcoming.done():
                upcoming.cancel()
                with contextlib.suppress(BaseException):
                    await upcoming
            elif not upcoming.cancelled():
                upcoming.exception()

    async def _sweep(self, plan: EntityPlan, tally: Tally) -> None:
        """The id-only pass: local synced records the server no longer shows are removed."""
        server_ids: set[str] = set()
        async for chunk in self._connector.list_ids(plan.entity, plan.filter):
            self._check_cancel()
            server_ids.update(chunk)
        tally.deleted += await self._db(lambda c: apply.sweep_missing(c, plan.entity, server_ids))


def _scope(plan: EntityPlan) -> str:
    """What a checkpoint is valid for: the sync filter's text, hashed ('' when unfiltered)."""
    text = plan.filter.strip()
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else ""


def _push_op(group: PendingGroup) -> PushOp:
    return PushOp(
        entity=group.entity,
        record_id=group.record_id,
        op="update" if group.op == "update" else group.op,
        fields=group.fields,
        base_version=group.base_version,
    )


def _finish(conn: Connection, run_id: int, status: str, summary: dict[str, Any]) -> None:
    with transaction(conn):
        ss.finish_run(conn, run_id, status, summary)


def _clear_checkpoint(conn: Connection, entity: str) -> None:
    with transaction(conn):
        ss.clear_checkpoint(conn, entity)


def begin_run_tx(conn: Connection) -> tuple[int, int]:
    with transaction(conn):
        return ss.begin_run(conn)
