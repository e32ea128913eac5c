"""Kill loops: SIGKILL a process mid-passwd or mid-write, then the profile must be whole.

After every kill: exactly one of the two passwords opens the profile, the
integrity checks pass, and every write the child acknowledged is present.
Trials are split across functions so pytest-xdist spreads them over cores.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_support import CHEAP_KDF

from tui_crm.domain.errors import WrongPassword
from tui_crm.services import ProfileService

CHILD = Path(__file__).with_name("crash_child.py")
OLD, NEW = "old password 1", "new password 2"
PASSWD_BATCHES = 5
PASSWD_TRIALS_PER_BATCH = 10
WRITE_BATCHES = 5
WRITE_TRIALS_PER_BATCH = 10


def _run_child(args: list[str], kill_after: float) -> list[str]:
    """Start the child, wait until it is ready, let it work `kill_after` s, SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline().strip()
    assert first == "ready", (first, child.stderr.read() if child.stderr else "")
    time.sleep(kill_after)  # where the kill lands, not a timing assertion
    os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return out.splitlines()


async def _open_with_either(profile: Path, passwords: list[str]) -> str:
    profiles = ProfileService(profile, kdf=CHEAP_KDF)
    working = []
    for candidate in passwords:
        try:
            session = await profiles.unlock(candidate)
        except WrongPassword:
            continue
        report = await session.check()
        await session.close()
        assert report.ok, report.problems
        working.append(candidate)
    assert len(working) == 1, working
    return working[0]


@pytest.mark.parametrize("batch", range(PASSWD_BATCHES))
def test_passwd_killed_at_random_moments(tmp_path: Path, batch: int) -> None:
    rng = random.Random(batch)
    profile = tmp_path / "p"
    asyncio.run(_create(profile, OLD))
    current = OLD
    for _ in range(PASSWD_TRIALS_PER_BATCH):
        other = NEW if current == OLD else OLD
        acknowledged = _run_child(["passwd", str(profile), current, other], rng.uniform(0, 0.25))
        last_ack = acknowledged[-1] if acknowledged else current
        opened = asyncio.run(_open_with_either(profile, [OLD, NEW]))
        # Either the last acknowledged password, or the one being written when killed.
        assert opened in (last_ack, OLD if last_ack == NEW else NEW)
        current = opened


@pytest.mark.parametrize("batch", range(WRITE_BATCHES))
def test_writes_killed_at_random_moments(tmp_path: Path, batch: int) -> None:
    rng = random.Random(100 + batch)
    profile = tmp_path / "p"
    asyncio.run(_create(profile, OLD))
    acknowledged: list[str] = []
    for _ in range(WRITE_TRIALS_PER_BATCH):
        acknowledged += _run_child(["write", str(profile), OLD], rng.uniform(0, 0.3))
        asyncio.run(_assert_present(profile, acknowledged))


async def _create(profile: Path, password: str) -> None:
    session = await ProfileService(profile, kdf=CHEAP_KDF).create(password)
    await session.close()


async def _assert_present(profile: Path, ids: list[str]) -> None:
    session = await ProfileService(profile, kdf=CHEAP_KDF).unlock(OLD)
    try:
        report = await session.check()
        assert report.ok, report.problems
        stored = {r.id async for r in session.records.export("account")}
        missing = set(ids) - stored
        assert not missing
        assert report.outbox == len(stored)
    finally:
        await session.close()
