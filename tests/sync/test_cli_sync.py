"""`tui-crm connect | sync --json | conflicts` as subprocesses against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tui_crm.sync.engine import SUMMARY_KEYS

from .conftest import PROFILE_PASSWORD, Emu


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["TUI_CRM_CONFIG"] = str(tmp_path / "config.toml")
    env["TUI_CRM_KDF__MEMORY_KIB"] = "19456"
    env["TUI_CRM_KDF__ITERATIONS"] = "1"
    env["TUI_CRM_KDF__LANES"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "tui_crm.cli.main", "--profile", str(tmp_path / "p"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_connect_sync_conflicts_through_the_cli(tmp_path: Path, emu: Emu) -> None:
    created = run(tmp_path, "--password-stdin", "init", stdin=PROFILE_PASSWORD + "\n")
    assert created.returncode == 0, created.stderr

    wrong = run(
        tmp_path,
        "--password-stdin",
        "connect",
        "dataverse",
        "--url",
        emu.url,
        "--auth",
        "password",
        "--user",
        "demo@example.com",
        stdin=f"{PROFILE_PASSWORD}\nnot-the-password\n",
    )
    assert wrong.returncode == 1
    assert "Traceback" not in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1
    assert "not-the-password" not in wrong.stderr

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
        "demo@example.com",
        stdin=f"{PROFILE_PASSWORD}\ndemo\n",
    )
    assert connected.returncode == 0, connected.stderr

    synced = run(
        tmp_path,
        "--password-stdin",
        "sync",
        "--entity",
        "account",
        "--json",
        stdin=PROFILE_PASSWORD + "\n",
    )
    assert synced.returncode == 0, synced.stderr
    summary = json.loads(synced.stdout)
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["pulled"] == len(emu.ids("account"))
    assert "account" in synced.stderr

    listed = run(tmp_path, "--password-stdin", "conflicts", "--json", stdin=PROFILE_PASSWORD + "\n")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []

    missing = run(
        tmp_path,
        "--password-stdin",
        "conflicts",
        "resolve",
        "99",
        "--take",
        "server",
        stdin=PROFILE_PASSWORD + "\n",
    )
    assert missing.returncode == 1
    assert "no open conflict" in missing.stderr and "Traceback" not in missing.stderr


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    run(tmp_path, "--password-stdin", "init", stdin=PROFILE_PASSWORD + "\n")
    refused = run(
        tmp_path,
        "--password-stdin",
        "connect",
        "dataverse",
        "--url",
        "http://crm.example.com",
        "--auth",
        "password",
        "--user",
        "u",
        stdin=f"{PROFILE_PASSWORD}\nsecret\n",
    )
    assert refused.returncode == 1
    assert "http://" in refused.stderr and "Traceback" not in refused.stderr


def test_sync_before_connect_says_so(tmp_path: Path) -> None:
    run(tmp_path, "--password-stdin", "init", stdin=PROFILE_PASSWORD + "\n")
    result = run(tmp_path, "--password-stdin", "sync", stdin=PROFILE_PASSWORD + "\n")
    assert result.returncode == 1
    assert "connect" in result.stderr and "Traceback" not in result.stderr
