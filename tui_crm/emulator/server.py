"""Serve an aiohttp application on loopback, in a background thread or in the foreground.

Tests and `tui-crm demo` need a real server inside their own process without
giving it their event loop (Textual and pytest-asyncio have their own), so the
server gets a thread with a private loop. Port 0 picks a free port; the bound
address is read back and returned as the base URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """Only loopback addresses: the emulators accept any password and must not be reachable."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def _start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, backlog=512)
    await site.start()
    server = site._server  # aiohttp keeps the asyncio server here; it knows the real port
    sockets: Any = getattr(server, "sockets", None) or []
    bound = next(
        (s.getsockname()[1] for s in sockets if s.family in (socket.AF_INET, socket.AF_INET6)), port
    )
    return runner, int(bound)


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel handlers still running (a stall outlives the shutdown timeout), as asyncio.run
    does, so no "Task was destroyed but it is pending" is logged when the loop is collected."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


class BackgroundServer:
    """One aiohttp app served from its own thread and event loop until `stop()`."""

    def __init__(
        self, app_factory: Callable[[], web.Application], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the emulator serves loopback only, not {host}")
        self._app_factory = app_factory
        self.host = host
        self.port = port
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> str:
        if self._thread is not None:
            return self.url
        self._thread = threading.Thread(target=self._run, name="emulator-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self.url

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.port = loop.run_until_complete(
                _start(self._app_factory(), self.host, self.port)
            )
            self.url = _base_url(self.host, self.port)
        except BaseException as error:  # reported to the thread that called start()
            self._error = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            _cancel_pending(loop)
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the server's loop (for state that lives there)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(callback)

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None


def serve_forever(
    app: web.Application, host: str, port: int, on_ready: Callable[[str], None]
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; `on_ready` gets the base URL first."""
    if not is_loopback(host):
        raise ValueError(f"the emulator serves loopback only, not {host}")

    async def main() -> None:
        runner, bound = await _start(app, host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        on_ready(_base_url(host, bound))
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
