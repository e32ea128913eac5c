"""An unlocked profile: the open database on its thread, and the services over it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, TypeVar

from tui_crm.domain.errors import DomainError
from tui_crm.services.executor import DbExecutor
from tui_crm.services.nearby import NearbyService
from tui_crm.services.records import RecordService
from tui_crm.services.settings import SettingsService
from tui_crm.services.sync import SyncService
from tui_crm.store.database import Connection, damage_guard, transaction
from tui_crm.store.integrity import CheckReport, run_check
from tui_crm.store.paths import ProfilePaths

T = TypeVar("T")

__all__ = ["CheckReport", "Session"]


class ProfileLocked(DomainError):
    """The session was closed (locked); unlock again to continue."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_expected_failure(future: Future[object]) -> None:
    if not future.cancelled() and isinstance(future.exception(), DomainError):
        return
    future.result()  # a bug: let it reach the executor's logging


class Session:
    """Holds the key only inside the SQLCipher connection; `close` drops both.

    Other services (sync, nearby) reach the database through `run` / `write`,
    which execute a function of the connection on the DB thread.
    """

    def __init__(
        self,
        executor: DbExecutor,
        conn: Connection,
        paths: ProfilePaths,
        *,
        now: Callable[[], str] = utc_now,
    ) -> None:
        self._executor = executor
        self._conn: Connection | None = conn
        self.paths = paths
        self.now = now
        self.records = RecordService(self)
        self.settings = SettingsService(self)
        self.nearby = NearbyService(self)
        self.sync = SyncService(self)

    @property
    def closed(self) -> bool:
        return self._conn is None

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` on the DB thread; damage found on the way becomes ProfileDamaged."""
        if self._conn is None:
            raise ProfileLocked("profile is locked")
        return await self._executor.run(self._guarded, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(conn)` inside one write transaction on the DB thread."""

        def in_transaction(conn: Connection) -> T:
            with transaction(conn):
                return fn(conn)

        return await self.run(in_transaction)

    def enqueue(self, fn: Callable[[Connection], object]) -> None:
        """Queue `fn(conn)` on the DB thread without waiting, from sync code on the loop.

        Every later `run` is queued behind it, so nothing reads before it ran;
        an expected failure (locked, damaged) is dropped: it will surface on
        the next call that waits.
        """
        if self._conn is None or self._executor.closed:
            return
        future = self._executor.submit(self._guarded, fn)
        future.add_done_callback(_drop_expected_failure)

    def run_blocking(self, fn: Callable[[Connection], T]) -> T:
        """Blocking twin of `run` for code with no event loop (benchmarks)."""
        result: T = self._executor.run_sync(self._guarded, fn)
        return result

    def _guarded(self, fn: Callable[[Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise ProfileLocked("profile is locked")
        with damage_guard():
            result: T = fn(conn)
        return result

    async def check(self) -> CheckReport:
        paths = self.paths
        return await self.run(lambda conn: run_check(conn, paths))

    async def close(self) -> None:
        """Close the connection (SQLCipher forgets the key) and stop the DB thread."""
        if self._executor.closed:
            return
        await self.nearby.stop()
        await self._executor.run(self._close_connection)
        self._executor.shutdown()

    def close_blocking(self) -> None:
        if self._executor.closed:
            return
        self._executor.run_sync(self._close_connection)
        self._executor.shutdown()

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
