"""ProfileService: create, unlock, re-password and wipe a profile, without holding a key.

Argon2id and SQLCipher calls are blocking; they run on the new session's DB
thread (create/unlock) or a worker thread (change_password), never on the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from tui_crm.config import KdfSettings
from tui_crm.services.executor import DbExecutor
from tui_crm.services.session import Session
from tui_crm.store import vault
from tui_crm.store.database import Connection
from tui_crm.store.keyfile import KdfParams
from tui_crm.store.lockout import Clock
from tui_crm.store.paths import ProfilePaths


class ProfileService:
    """`kdf` sets the Argon2id cost of new key files (default: Settings.kdf's defaults);
    `clock` is injectable so lockout tests need not sleep."""

    def __init__(
        self,
        profile_dir: Path,
        *,
        kdf: KdfSettings | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.paths = ProfilePaths(Path(profile_dir))
        cost = kdf or KdfSettings()
        self._params = KdfParams(
            memory_kib=cost.memory_kib, iterations=cost.iterations, lanes=cost.lanes
        )
        self._clock = clock

    def exists(self) -> bool:
        return vault.profile_exists(self.paths)

    async def create(self, password: str, *, offline: bool = True) -> Session:
        return await self._open(
            lambda: vault.create_profile(self.paths, password, self._params, offline=offline)
        )

    async def unlock(self, password: str) -> Session:
        return await self._open(lambda: vault.unlock_profile(self.paths, password, self._clock))

    async def change_password(self, old: str, new: str) -> None:
        await asyncio.to_thread(
            vault.change_password, self.paths, old, new, self._params, self._clock
        )

    async def wipe(self) -> None:
        await asyncio.to_thread(vault.wipe_profile, self.paths)

    async def lockout_remaining(self) -> float:
        return await asyncio.to_thread(vault.lockout_remaining, self.paths, self._clock)

    async def _open(self, opener: Callable[[], Connection]) -> Session:
        """Open on a fresh DB thread, which then owns the connection for the session's life."""
        executor = DbExecutor()
        try:
            conn = await executor.run(opener)
        except BaseException:
            executor.shutdown()
            raise
        return Session(executor, conn, self.paths)
