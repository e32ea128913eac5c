"""The one thread that owns the database connection.

SQLite connections must not be shared across threads, and the Textual event
loop must never wait on disk or crypto. Every store call is therefore shipped
to this single worker thread and awaited; calls run one at a time, in order.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DbExecutor:
    def __init__(self, name: str = "tui-crm-db") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the DB thread and await its result (exceptions propagate)."""
        if self._closed:
            raise RuntimeError("database thread is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking variant for code outside an event loop (benchmarks, CLI helpers)."""
        if self._closed:
            raise RuntimeError("database thread is closed")
        future: Future[T] = self._pool.submit(fn, *args, **kwargs)
        return future.result()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Queue `fn` without waiting: it runs before anything queued after it."""
        if self._closed:
            raise RuntimeError("database thread is closed")
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        """Finish queued work, then stop the thread."""
        self._closed = True
        self._pool.shutdown(wait=True)
