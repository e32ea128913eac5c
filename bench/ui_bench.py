"""Interface figures, printed as JSON: start-up, unlock, and bytes per keypress over a pty.

Runs the installed `tui-crm` in a pseudo-terminal of 80x24 and reads what it
writes, the way an SSH session would carry it:

- seconds from process start until the unlock screen is drawn;
- seconds from pressing enter on the password until home is drawn, with the
  Argon2id derivation alone timed apart (same parameters, in-process);
- bytes written to the terminal per keypress while scrolling a list of
  100k records one row (`j`) and one page (page down) at a time.

Usage: python bench/ui_bench.py [--records 100000] [--row-presses 200] [--page-presses 50]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from tui_crm.config import KdfSettings
from tui_crm.services.profile import ProfileService

PASSWORD = "bench password 1"
QUIET_SECONDS = 0.25
"""Output is complete for a keypress once the terminal has been silent this long."""
PAGE_DOWN = b"\x1b[6~"
VISIBLE_ROWS = 19
"""Table rows visible at 80x24 (title, header and footer take the rest)."""


def tui_crm_argv() -> list[str]:
    script = Path(sys.executable).with_name("tui-crm")
    found = str(script) if script.exists() else shutil.which("tui-crm")
    if not found:
        raise SystemExit("tui-crm is not installed in this environment")
    return [found]


async def make_profile(profile: Path, records: int, kdf: KdfSettings) -> None:
    session = await ProfileService(profile, kdf=kdf).create(PASSWORD)
    try:
        batch = 10_000
        for start in range(0, records, batch):
            rows = [
                {"name": f"Account {n:07d}", "address1_city": f"City {n % 97}"}
                for n in range(start, min(records, start + batch))
            ]
            await session.records.import_rows("account", rows)
    finally:
        await session.close()


def kdf_seconds(kdf: KdfSettings) -> float:
    started = time.perf_counter()
    Argon2id(
        salt=os.urandom(16),
        length=32,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    ).derive(PASSWORD.encode())
    return time.perf_counter() - started


class PtyApp:
    """The app on the far side of a pseudo-terminal; counts every byte it writes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child
            os.execvpe(argv[0], argv, env)
        self.pid = pid
        self.fd = fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.screen_text = b""

    def read_for(self, seconds: float) -> bytes:
        data = b""
        deadline = time.perf_counter() + seconds
        while (remaining := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                break
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def wait_for(self, marker: bytes, timeout: float = 60.0) -> float:
        """Seconds (since process start) at which `marker` had been written."""
        deadline = time.perf_counter() + timeout
        seen = b""
        while time.perf_counter() < deadline:
            seen += self.read_for(0.05)
            if marker in seen:
                return time.perf_counter() - self.started
        raise SystemExit(f"timed out waiting for {marker!r}")

    def settle(self) -> int:
        """Read until the terminal is quiet; the number of bytes that arrived."""
        total = 0
        while True:
            chunk = self.read_for(QUIET_SECONDS)
            if not chunk:
                return total
            total += len(chunk)

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> None:
        self.send(b"\x11")  # ctrl+q
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            self.read_for(0.1)
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def per_key(app: PtyApp, key: bytes, presses: int) -> list[int]:
    counts = []
    for _ in range(presses):
        app.send(key)
        counts.append(app.settle())
    return counts


def figures(counts: list[int]) -> dict[str, float]:
    return {
        "presses": len(counts),
        "mean_bytes": round(statistics.fmean(counts), 1),
        "median_bytes": statistics.median(counts),
        "max_bytes": max(counts),
        "total_bytes": sum(counts),
    }


def run(records: int, row_presses: int, page_presses: int) -> dict[str, Any]:
    kdf = KdfSettings()  # the product's defaults: what a user's unlock costs
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "profile"
        build_started = time.perf_counter()
        asyncio.run(make_profile(profile, records, kdf))
        build_seconds = time.perf_counter() - build_started
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "TUI_CRM_CONFIG": str(Path(tmp) / "config.toml"),
            "COLUMNS": "80",
            "LINES": "24",
        }
        env.pop("NO_COLOR", None)
        app = PtyApp([*tui_crm_argv(), "--profile", str(profile)], env)
        try:
            unlock_drawn = app.wait_for(b"Password")
            app.settle()
            app.send(PASSWORD.encode() + b"\r")
            entered = time.perf_counter()
            app.wait_for(b"Accounts")
            to_home = time.perf_counter() - entered
            app.settle()
            app.send(b"1")
            app.wait_for(b"Account 0000001")
            app.settle()
            rows = per_key(app, b"j", row_presses)
            pages = per_key(app, PAGE_DOWN, page_presses)
        finally:
            app.close()
    return {
        "records": records,
        "profile_build_seconds": round(build_seconds, 2),
        "start_to_unlock_screen_seconds": round(unlock_drawn, 3),
        "password_to_home_seconds": round(to_home, 3),
        "argon2id_seconds": round(kdf_seconds(kdf), 3),
        "argon2id_params": kdf.model_dump(),
        # Within the first screenful only the old and new cursor rows are redrawn;
        # past it every press scrolls the table and redraws the visible rows.
        "bytes_per_keypress_row_down_within_view": figures(rows[:VISIBLE_ROWS]),
        "bytes_per_keypress_row_down_scrolling": figures(rows[VISIBLE_ROWS:]),
        "bytes_per_keypress_row_down_all": figures(rows),
        "bytes_per_keypress_page_down": figures(pages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--row-presses", type=int, default=200)
    parser.add_argument("--page-presses", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(run(args.records, args.row_presses, args.page_presses), indent=2))


if __name__ == "__main__":
    main()
