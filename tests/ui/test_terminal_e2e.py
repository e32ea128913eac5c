"""End to end in a real terminal: the installed `tui-crm` in tmux at 80x24.

Creates a profile with the CLI, types the password, creates an account
through the form, quits, starts again and finds the account by search —
reading the screen with `tmux capture-pane`, polling with a bound.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import PASSWORD

TMUX = shutil.which("tmux")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/run installs it)"),
]
SCREEN_TIMEOUT = 30.0


def tui_crm_command() -> list[str]:
    """The installed console script next to this interpreter, else the module entry point."""
    script = Path(sys.executable).with_name("tui-crm")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tui_crm.cli.main import main; raise SystemExit(main())"]


class Terminal:
    """One tmux server on a private socket, one 80x24 window running a command."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.session = ""
        self.sockets: list[Path] = []
        self.socket = self._new_socket()

    def _new_socket(self) -> Path:
        # Socket paths are limited to ~100 bytes; tmp_path can be long.
        socket = Path("/tmp") / f"tui-crm-e2e-{uuid.uuid4().hex[:12]}.sock"
        self.sockets.append(socket)
        return socket

    def tmux(self, *args: str, check: bool = True) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=15,
            check=check,
        )
        return done.stdout

    def start(self, argv: list[str]) -> None:
        self.session = f"e2e{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        command = f"env {exports} {shlex.join(argv)}; echo EXITED=$?; sleep 60"
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", self.session, command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session, check=False)

    def wait_for(self, text: str, timeout: float = SCREEN_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; screen was:\n{shown}")
            time.sleep(0.1)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def keys(self, *names: str) -> None:
        self.tmux("send-keys", "-t", self.session, *names)

    def restart_server(self) -> None:
        """A fresh tmux server: killing the last session of one makes it exit asynchronously."""
        self.tmux("kill-server", check=False)
        self.socket = self._new_socket()

    def stop(self) -> None:
        for socket in self.sockets:
            self.socket = socket
            self.tmux("kill-server", check=False)
            socket.unlink(missing_ok=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    env = {
        "TUI_CRM_CONFIG": str(tmp_path / "config.toml"),
        "TUI_CRM_KDF__MEMORY_KIB": "19456",
        "TUI_CRM_KDF__ITERATIONS": "1",
        "TUI_CRM_KDF__LANES": "1",
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
    }
    term = Terminal(env)
    yield term
    term.stop()


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tui_crm_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_create_quit_restart_and_find_by_search(terminal: Terminal, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    created = cli(
        terminal.env,
        "--profile",
        str(profile),
        "--password-stdin",
        "init",
        "--offline",
        stdin=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    other = cli(
        terminal.env,
        "--profile",
        str(profile),
        "--password-stdin",
        "records",
        "create",
        "account",
        "--set",
        "name=Other Company",
        stdin=PASSWORD + "\n",
    )
    assert other.returncode == 0, other.stderr

    app = [*tui_crm_command(), "--profile", str(profile)]
    terminal.start(app)
    terminal.wait_for("Password")
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Accounts")
    shown = terminal.screen()
    assert PASSWORD not in shown, "the password is never echoed"
    terminal.type("1")
    terminal.wait_for("Other Company")
    terminal.type("n")
    terminal.wait_for("New account")
    terminal.type("Canary Field Services")
    terminal.keys("C-s")
    terminal.wait_for("Canary Field Services")
    terminal.wait_for("sort:")
    terminal.keys("C-q")
    ended = terminal.wait_for("EXITED=")
    assert "EXITED=0" in ended
    terminal.restart_server()

    terminal.start(app)
    terminal.wait_for("Password")
    terminal.type(PASSWORD)
    terminal.keys("Enter")
    terminal.wait_for("Accounts")
    terminal.type("1")
    terminal.wait_for("Other Company")
    terminal.type("/")
    terminal.type("canary")
    deadline = time.monotonic() + SCREEN_TIMEOUT
    while True:
        shown = terminal.screen()
        if "Canary Field Services" in shown and "Other Company" not in shown:
            break
        assert time.monotonic() < deadline, f"search never narrowed the list:\n{shown}"
        time.sleep(0.1)
    assert "+" in next(line for line in shown.splitlines() if "Canary Field Services" in line)
    title = terminal.tmux("display-message", "-p", "-t", terminal.session, "#{pane_title}")
    assert "Canary" not in title, "record contents never reach the terminal title"
    terminal.keys("C-q")
    assert "EXITED=0" in terminal.wait_for("EXITED=")
