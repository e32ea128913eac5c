"""`tui-crm demo` end to end in tmux at 80x24: emulator, throwaway profile, sync, interface.

The README's first command runs this, so it is checked the way a newcomer
meets it: the unlock screen tells the throwaway password, typing it opens Home
with the synced records counted, and quitting removes the throwaway profile.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.ui.test_terminal_e2e import SCREEN_TIMEOUT, Terminal, tui_crm_command
from tests.ui.test_terminal_e2e import terminal as terminal  # the fixture

pytestmark = pytest.mark.slow


def account_count(screen: str) -> int:
    for line in screen.splitlines():
        found = re.search(r"Accounts\D+(\d[\d,]*)", line)
        if found:
            return int(found.group(1).replace(",", ""))
    return -1


def test_demo_syncs_and_opens_the_interface(terminal: Terminal, tmp_path: Path) -> None:
    terminal.env["TMPDIR"] = str(tmp_path)
    terminal.start([*tui_crm_command(), "demo", "--records", "40", "--seed", "7"])
    shown = terminal.wait_for("Demo profile password:", timeout=SCREEN_TIMEOUT * 2)
    password = shown.split("Demo profile password:", 1)[1].split()[0]
    demo_folders = list(tmp_path.glob("tui-crm-demo-*"))
    assert len(demo_folders) == 1, "the throwaway profile lives in the temporary folder"
    terminal.type(password)
    terminal.keys("Enter")
    terminal.wait_for("Accounts")
    deadline = time.monotonic() + SCREEN_TIMEOUT
    while account_count(terminal.screen()) <= 0:
        assert time.monotonic() < deadline, f"no synced accounts on Home:\n{terminal.screen()}"
        time.sleep(0.1)
    assert account_count(terminal.screen()) == 40
    terminal.keys("C-q")
    assert "EXITED=0" in terminal.wait_for("EXITED=")
    assert not demo_folders[0].exists(), "the throwaway profile is removed on exit"
