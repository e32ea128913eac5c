"""A password typed before the unlock screen is drawn: never echoed, and its Enter submits.

Runs the installed `tui-crm` on a real pseudo-terminal. The test types as
soon as the process has taken the terminal out of echo mode (read from the
terminal's own settings, not guessed with a sleep), which is long before
Textual has drawn anything.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import termios
import time
from pathlib import Path

import pytest

from tests.ui.conftest import CHEAP_KDF, PASSWORD, create_profile_sync
from tests.ui.test_terminal_e2e import tui_crm_command
from tui_crm.cli.typeahead import quiet_typeahead
from tui_crm.config import Settings

pytestmark = pytest.mark.slow
TIMEOUT = 60.0


def _read_until(fd: int, marker: bytes, seen: bytearray) -> None:
    deadline = time.monotonic() + TIMEOUT
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{marker!r} never written; got {bytes(seen[-400:])!r}"
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                return


def test_password_typed_ahead_is_not_echoed_and_unlocks(tmp_path: Path) -> None:
    settings = Settings(profile=tmp_path / "profile", kdf=CHEAP_KDF)
    create_profile_sync(settings)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "TUI_CRM_CONFIG": str(tmp_path / "config.toml"),
        "TUI_CRM_PROFILE": str(settings.profile),
        "TUI_CRM_KDF__MEMORY_KIB": str(CHEAP_KDF.memory_kib),
        "TUI_CRM_KDF__ITERATIONS": str(CHEAP_KDF.iterations),
        "TUI_CRM_KDF__LANES": str(CHEAP_KDF.lanes),
    }
    argv = tui_crm_command()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app on the terminal's far side
        os.execvpe(argv[0], argv, env)
    seen = bytearray()
    try:
        assert termios.tcgetattr(fd)[3] & termios.ECHO, "a new terminal echoes"
        deadline = time.monotonic() + TIMEOUT
        while termios.tcgetattr(fd)[3] & termios.ECHO:
            assert time.monotonic() < deadline, "the app never turned echo off"
            time.sleep(0.005)
        os.write(fd, PASSWORD.encode() + b"\r")
        _read_until(fd, b"Accounts", seen)  # Home: the typed-ahead Enter submitted
        assert PASSWORD.encode() not in seen, "the password was echoed"
        # Over SSH: no mouse tracking unless asked for, and nothing in the terminal title.
        assert b"\x1b[?1000h" not in seen and b"\x1b[?1003h" not in seen, "mouse tracking on"
        assert b"\x1b]0;" not in seen and b"\x1b]2;" not in seen, "the title was set"
        os.write(fd, b"\x11")  # ctrl+q
        _read_until(fd, b"\x1b[?1049l", seen)  # left the alternate screen
        deadline = time.monotonic() + TIMEOUT
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            assert time.monotonic() < deadline, "the app did not quit"
            time.sleep(0.05)
        assert os.waitstatus_to_exitcode(done[1]) == 0
        restored = termios.tcgetattr(fd)
        assert restored[3] & termios.ECHO and restored[3] & termios.ICANON, "echo restored"
        assert restored[0] & termios.ICRNL
        assert PASSWORD.encode() not in seen
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def test_keys_typed_inside_are_queued_unechoed_and_settings_come_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a real pty pair: what the kernel would echo, and what the reader gets."""
    master, slave = pty.openpty()
    with os.fdopen(slave, "rb", buffering=0, closefd=True) as terminal:
        monkeypatch.setattr("sys.stdin", terminal)
        before = termios.tcgetattr(slave)
        with quiet_typeahead():
            os.write(master, b"sesame\r")
            ready, _, _ = select.select([master], [], [], 0.2)
            assert not ready, "typed keys were echoed back to the screen"
            assert os.read(slave, 64) == b"sesame\r", "queued as typed, Enter still CR"
        assert termios.tcgetattr(slave) == before
        os.write(master, b"x\n")
        ready, _, _ = select.select([master], [], [], 2.0)
        assert ready and os.read(master, 64).startswith(b"x"), "echo is back after"
    os.close(master)
