"""Crash safety: SIGKILL `tui-crm records create` loops and `tui-crm passwd` at random moments.

After every kill the profile must open with the old or the new password, pass
SQLCipher's and SQLite's integrity checks, and hold every record whose id the
CLI printed (printing the id is the CLI's promise that the create is done).

The kill moment is drawn uniformly over a window sized from a measured,
uninterrupted run of the same command on this machine, so the trials spread
over start-up, key derivation, the database write and exit whatever the load.
Trials are split into batches (test cases) so pytest-xdist runs them side by side;
27 create-loop kills and 27 passwd kills here, beside the store's own passwd kill loop.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import pytest
from cli_harness import PASSWORD, Cli, tui_crm_executable

from tui_crm.config import KdfSettings
from tui_crm.domain.errors import WrongPassword
from tui_crm.services.profile import ProfileService

BATCHES = 3
TRIALS_PER_BATCH = 9
CHEAP = KdfSettings(memory_kib=19456, iterations=1, lanes=1)

pytestmark = pytest.mark.slow

CREATE_LOOP = """
i=0
while :; do
  i=$((i+1))
  printf '%s\\n' "$KILL_LOOP_PASSWORD" | "$TUI_CRM" --profile "$KILL_LOOP_PROFILE" \\
    --password-stdin records create account --set "name=Loop $KILL_LOOP_TRIAL $i" || exit 9
done
"""


def _first_line(stream: IO[bytes], timeout: float) -> bytes:
    """The loop's first reported id (bounded wait, so a hung loop fails the test)."""
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "the create loop reported nothing in time"
    return stream.readline()


def _measure(cli: Cli, *args: str, passwords: list[str]) -> float:
    started = time.monotonic()
    cli.ok(*args, passwords=passwords)
    return time.monotonic() - started


async def _open_with_either(profile: Path, passwords: list[str]) -> tuple[str, dict[str, object]]:
    """The password that opens the profile, and the integrity report; fails if neither does."""
    service = ProfileService(profile, kdf=CHEAP)
    for password in passwords:
        try:
            session = await service.unlock(password)
        except WrongPassword:
            continue
        try:
            report = (await session.check()).to_json()
        finally:
            await session.close()
        return password, report
    raise AssertionError(f"no password opens the profile after the kill: {profile}")


async def _missing_ids(profile: Path, password: str, ids: list[str]) -> list[str]:
    service = ProfileService(profile, kdf=CHEAP)
    session = await service.unlock(password)
    try:
        present = {record.id async for record in session.records.export("account")}
    finally:
        await session.close()
    return [ident for ident in ids if ident not in present]


@pytest.mark.parametrize("batch", range(BATCHES))
def test_killed_create_loops_lose_no_reported_record(ready: Cli, batch: int) -> None:
    rng = random.Random(f"create-{batch}")
    one_create = _measure(
        ready, "records", "create", "account", "--set", "name=warm", passwords=[PASSWORD]
    )
    env = dict(ready.env)
    env.update(
        KILL_LOOP_PASSWORD=PASSWORD,
        KILL_LOOP_PROFILE=str(ready.profile),
        TUI_CRM=tui_crm_executable(),
    )
    reported: list[str] = []
    for trial in range(TRIALS_PER_BATCH):
        env["KILL_LOOP_TRIAL"] = str(trial)
        loop = subprocess.Popen(
            ["bash", "-c", CREATE_LOOP],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert loop.stdout is not None and loop.stderr is not None
        first = b""
        if trial % 2:
            # Odd trials kill after a create was reported, i.e. during a later one.
            first = _first_line(loop.stdout, timeout=60)
        time.sleep(rng.uniform(0.0, 1.5 * one_create))
        os.killpg(loop.pid, signal.SIGKILL)
        loop.wait(timeout=30)
        text = (first + loop.stdout.read()).decode()
        stderr = loop.stderr.read()
        loop.stdout.close()
        loop.stderr.close()
        assert b"Traceback" not in stderr
        complete = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
        assert not trial % 2 or complete, "the odd trial saw no create reported"
        reported.extend(complete)
        opened_with, report = asyncio.run(_open_with_either(ready.profile, [PASSWORD]))
        assert report["ok"] is True, report
        assert asyncio.run(_missing_ids(ready.profile, opened_with, reported)) == []
    ready.ok("check")


def _passwd(profile: Path, env: dict[str, str], old: str, new: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [tui_crm_executable(), "--profile", str(profile), "--password-stdin", "passwd"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(f"{old}\n{new}\n".encode())
    process.stdin.close()
    return process


@pytest.mark.parametrize("batch", range(BATCHES))
def test_killed_passwd_leaves_old_or_new_password_working(ready: Cli, batch: int) -> None:
    rng = random.Random(f"passwd-{batch}")
    ident = ready.ok("records", "create", "account", "--set", "name=Survivor").stdout.strip()
    current = f"{PASSWORD} {batch}"
    one_passwd = _measure(ready, "passwd", passwords=[PASSWORD, current])
    outcomes = {"old": 0, "new": 0}
    for trial in range(TRIALS_PER_BATCH):
        new = f"password {batch}-{trial}-{rng.random()}"
        process = _passwd(ready.profile, ready.env, current, new)
        time.sleep(rng.uniform(0.3 * one_passwd, 1.2 * one_passwd))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.stdout is not None and process.stderr is not None
        stdout, stderr = process.stdout.read(), process.stderr.read()
        process.stdout.close()
        process.stderr.close()
        assert b"Traceback" not in stderr
        finished = b"password changed" in stdout
        opened_with, report = asyncio.run(
            _open_with_either(ready.profile, [new] if finished else [current, new])
        )
        assert report["ok"] is True, report
        assert asyncio.run(_missing_ids(ready.profile, opened_with, [ident])) == []
        outcomes["new" if opened_with == new else "old"] += 1
        current = opened_with
    assert sum(outcomes.values()) == TRIALS_PER_BATCH
    assert ready.run("check", password=current).returncode == 0
