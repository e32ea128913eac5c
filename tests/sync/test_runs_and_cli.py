"""Run bookkeeping, throttling and the `sync` / `conflicts` command line, against the emulator.

- a sync SIGKILLed mid-run leaves its run "running"; the next one marks it
  interrupted and resumes from the committed checkpoints;
- 429 + Retry-After: the emulator counts requests that came back before the
  time it named (a client honouring the header never sends one);
- `sync --json` has exactly the keys of CLI.md, in order, with numbers;
  `conflicts [--json]` and `conflicts resolve ID --take server|device`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session

from .conftest import (
    CHEAP_KDF,
    DEMO_PASSWORD,
    DEMO_USER,
    PROFILE_PASSWORD,
    Emu,
    connect,
    make_settings,
    sync_service,
)
from .test_cli_sync import run
from .test_sync_emulator import assert_converged

ALL_SYNCED = (
    "account",
    "contact",
    "lead",
    "opportunity",
    "appointment",
    "task",
    "phonecall",
    "email",
    "annotation",
)

CLI_SUMMARY_KEYS = [
    "pulled",
    "pushed",
    "deleted",
    "conflicts",
    "errors",
    "requests",
    "bytes_received",
    "bytes_sent",
    "seconds",
]
"""Copied from /work/shared/CLI.md on purpose: the contract, not the code's own constant."""


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TUI_CRM_CONFIG"] = str(tmp_path / "config.toml")
    env["TUI_CRM_KDF__MEMORY_KIB"] = str(CHEAP_KDF.memory_kib)
    env["TUI_CRM_KDF__ITERATIONS"] = "1"
    env["TUI_CRM_KDF__LANES"] = "1"
    return env


async def _total_local(session: Session) -> int:
    return sum((await session.records.counts()).values())


def _killed_sync(tmp_path: Path) -> None:
    """`tui-crm sync` SIGKILLed right after it reported its first committed page."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui_crm.cli.main",
            "--profile",
            str(tmp_path / "profile"),
            "--password-stdin",
            "sync",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_env(tmp_path),
    )
    try:
        assert process.stdin is not None and process.stderr is not None
        process.stdin.write(PROFILE_PASSWORD + "\n")
        process.stdin.close()
        # The first pull line may only announce the length (0 done); wait for a page.
        while True:
            line = process.stderr.readline()
            assert line, "the sync ended before it reported a page"
            if line.startswith("pull ") and not re.search(r" 0/\d+ | 0 records ", line):
                break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


async def test_a_run_killed_mid_pull_is_marked_interrupted_and_resumed(
    tmp_path: Path, emu: Emu
) -> None:
    profile = ProfileService(tmp_path / "profile", kdf=CHEAP_KDF)
    session = await profile.create(PROFILE_PASSWORD)
    try:
        await connect(session, make_settings(tmp_path), emu)
    finally:
        await session.close()
    emu.raw.set_latency(150)  # one page per table: slow enough to be killed between tables
    _killed_sync(tmp_path)
    emu.raw.set_latency(0)

    session = await profile.unlock(PROFILE_PASSWORD)
    try:
        sync = sync_service(session, make_settings(tmp_path))
        before = await sync.runs(5)
        assert [r["status"] for r in before] == ["running"], "the kill left it running"
        committed = await _total_local(session)
        assert committed > 0, "the first page was committed before the kill"

        summary = await sync.sync()

        after = await sync.runs(5)
        assert [r["status"] for r in after] == ["done", "interrupted"]
        assert after[1]["id"] == before[0]["id"]
        server_total = sum(emu.raw.count(e) for e in ALL_SYNCED)
        assert summary["pulled"] == server_total - committed, "resumed, not started over"
        assert await _total_local(session) == server_total
        await assert_converged(session, emu, "account", ["name", "telephone1"])
    finally:
        await session.close()


async def test_429_retry_after_is_honoured_and_no_request_comes_early(
    tmp_path: Path, session: Session, emu: Emu
) -> None:
    budget = emu.raw.budget
    # The detector works: a client that ignores the header is caught at once.
    token = await _password_token(emu)
    emu.raw.set_rate_limit(1, 1.0)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as rude:
        for _ in range(3):
            await rude.get(emu.raw.api_url + "/WhoAmI")
    assert budget.throttled == 2 and budget.early == 1

    emu.raw.set_rate_limit(6000, 300.0)
    sync = await connect(session, make_settings(tmp_path), emu)
    emu.raw.set_rate_limit(2, 1.0)
    summary = await sync.sync(["account", "contact"])
    assert summary["errors"] == 0
    assert budget.throttled >= 1, "the budget was exceeded, so 429s were answered"
    assert budget.early == 0, "every retry waited the Retry-After it was given"
    emu.raw.reset_budget()
    await assert_converged(session, emu, "account", ["name"])
    await assert_converged(session, emu, "contact", ["lastname"])


async def _password_token(emu: Emu) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            emu.raw.authority + "/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": "test",
                "username": DEMO_USER,
                "password": DEMO_PASSWORD,
                "scope": emu.raw.scope,
            },
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(tmp_path, "--password-stdin", *args, stdin=PROFILE_PASSWORD + "\n")


async def test_cli_sync_json_keys_and_conflicts_resolve(tmp_path: Path, emu: Emu) -> None:
    assert _cli(tmp_path, "init").returncode == 0
    connected = run(
        tmp_path,
        "--password-stdin",
        "connect",
        "dataverse",
        "--url",
        emu.url,
        "--auth",
        "password",
        "--user",
        DEMO_USER,
        stdin=f"{PROFILE_PASSWORD}\n{DEMO_PASSWORD}\n",
    )
    assert connected.returncode == 0, connected.stderr
    first = _cli(tmp_path, "sync", "--entity", "account", "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert list(summary) == CLI_SUMMARY_KEYS
    assert all(type(summary[k]) is int for k in CLI_SUMMARY_KEYS[:-1])
    assert isinstance(summary["seconds"], int | float) and summary["pulled"] == 20

    record_id = sorted(emu.ids("account"))[0]
    other_id = sorted(emu.ids("account"))[1]
    for rid, name in ((record_id, "device one"), (other_id, "device two")):
        edited = _cli(tmp_path, "records", "update", "account", rid, "--set", f"name={name}")
        assert edited.returncode == 0, edited.stderr
        emu.update("account", rid, {"name": f"server {name.split()[1]}"})
    clashed = _cli(tmp_path, "sync", "--entity", "account", "--json")
    assert clashed.returncode == 0, clashed.stderr
    assert json.loads(clashed.stdout)["conflicts"] == 2

    listed = _cli(tmp_path, "conflicts", "--json")
    assert listed.returncode == 0, listed.stderr
    conflicts = {c["record_id"]: c for c in json.loads(listed.stdout)}
    assert set(conflicts) == {record_id, other_id}
    mine = conflicts[record_id]
    assert mine["entity"] == "account" and mine["kind"] == "update-update"
    assert mine["resolution"] is None
    assert mine["device"]["name"] == "device one" and mine["server"]["name"] == "server one"
    text = _cli(tmp_path, "conflicts")
    assert text.returncode == 0 and len(text.stdout.strip().splitlines()) == 2
    assert all(line.rstrip().endswith("open") for line in text.stdout.strip().splitlines())

    took_device = _cli(tmp_path, "conflicts", "resolve", str(mine["id"]), "--take", "device")
    assert took_device.returncode == 0, took_device.stderr
    assert f"conflict {mine['id']} resolved: device" in took_device.stdout
    theirs = conflicts[other_id]
    took_server = _cli(tmp_path, "conflicts", "resolve", str(theirs["id"]), "--take", "server")
    assert took_server.returncode == 0, took_server.stderr
    again = _cli(tmp_path, "conflicts", "resolve", str(theirs["id"]), "--take", "device")
    assert again.returncode == 1 and "no open conflict" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    bad = _cli(tmp_path, "conflicts", "resolve", str(theirs["id"]), "--take", "both")
    assert bad.returncode == 2

    final = _cli(tmp_path, "sync", "--entity", "account", "--json")
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["pushed"] == 1
    assert emu.get("account", record_id)["name"] == "device one"  # type: ignore[index]
    assert emu.get("account", other_id)["name"] == "server two"  # type: ignore[index]
    open_now = _cli(tmp_path, "conflicts", "--open", "--json")
    assert json.loads(open_now.stdout) == []
    shown = _cli(tmp_path, "records", "get", "account", other_id, "--json")
    assert json.loads(shown.stdout)["fields"]["name"] == "server two"
    assert json.loads(shown.stdout)["state"] == "synced"
