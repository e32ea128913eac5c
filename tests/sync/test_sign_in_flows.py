"""Device-code sign-in and authority discovery against the emulator over loopback.

Three levels: the OAuth client alone (a shared fake clock lets the emulator
and the client agree on time, so `slow_down` is checked without waiting
tens of seconds), SyncService.connect (tokens end up in the encrypted
profile and nowhere readable), and `tui-crm connect --auth device` as a
subprocess a user would run over SSH.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_crm.connectors.dataverse import api_root
from tui_crm.connectors.http import make_client
from tui_crm.connectors.oauth import OAuthClient, default_scope, discover_authority
from tui_crm.domain.errors import AuthenticationFailed
from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.services.profile import ProfileService
from tui_crm.services.sync import ConnectionOptions, DeviceCodePrompt

from .conftest import CHEAP_KDF, DEMO_PASSWORD, DEMO_USER, PROFILE_PASSWORD, make_settings
from .conftest import sync_service as tuned_service


@pytest.fixture
def server() -> Iterator[DataverseEmulator]:
    """Few records, a 1 s device-code interval so real polling stays quick."""
    emulator = DataverseEmulator(records=3, seed=3, device_code_interval=1)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


class SharedTime:
    """One clock for the emulator's identity side and the client: sleeping moves it."""

    def __init__(self, emulator: DataverseEmulator, approve_on_sleep: int) -> None:
        self.now = 10_000.0
        self.sleeps: list[float] = []
        self._emulator = emulator
        self._approve_on = approve_on_sleep
        emulator.identity.clock = self.clock

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if len(self.sleeps) == self._approve_on:
            assert self._emulator.approve_device_code() == 1
        await asyncio.sleep(0)


async def test_device_code_polls_pending_slows_down_then_gets_tokens(
    server: DataverseEmulator,
) -> None:
    server.identity.settings.device_code_interval = 5
    time = SharedTime(server, approve_on_sleep=3)
    http = make_client([server.url])
    try:
        authority = await discover_authority(http.client, api_root(server.url))
        oauth = OAuthClient(http.client, authority, "cli", sleep=time.sleep, clock=time.clock)
        prompt = await oauth.device_code_start(default_scope(server.url))
        assert prompt.interval == 5.0
        assert server.pending_user_codes() == [prompt.user_code]
        server.slow_down_device_polls(1)
        tokens = await oauth.device_code_poll(prompt)
        # poll 1: slow_down (+5 s for good), poll 2: authorization_pending, poll 3: approved.
        assert time.sleeps == [5.0, 10.0, 10.0]
        assert tokens.refresh_token and tokens.access_token
        who = await http.client.get(
            api_root(server.url) + "/WhoAmI",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        assert who.status_code == 200 and who.json()["UserId"] == server.user.id
    finally:
        await http.aclose()


async def test_device_code_that_expires_while_waiting_is_one_clear_error(
    server: DataverseEmulator,
) -> None:
    time = SharedTime(server, approve_on_sleep=-1)
    http = make_client([server.url])
    try:
        oauth = OAuthClient(
            http.client, server.authority, "cli", sleep=time.sleep, clock=time.clock
        )
        prompt = await oauth.device_code_start(default_scope(server.url))
        server.expire_device_codes()
        with pytest.raises(AuthenticationFailed) as caught:
            await oauth.device_code_poll(prompt)
    finally:
        await http.aclose()
    assert str(caught.value) == "the sign-in code expired: start again"
    assert prompt.device_code not in str(caught.value)


def _profile_bytes(profile: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(profile.rglob("*")) if p.is_file())


async def test_device_sign_in_through_the_service_keeps_tokens_only_encrypted(
    tmp_path: Path, server: DataverseEmulator
) -> None:
    profile = ProfileService(tmp_path / "profile", kdf=CHEAP_KDF)
    session = await profile.create(PROFILE_PASSWORD)
    shown: list[DeviceCodePrompt] = []
    approvals: list[asyncio.Task[None]] = []

    async def approve_after_a_pending_poll(code: str) -> None:
        """The user types the code on another device once the client has polled once."""
        while not any(g.last_poll is not None for g in server.identity.device_grants.values()):
            await asyncio.sleep(0.05)
        server.approve_device_code(code)

    def on_code(prompt: DeviceCodePrompt) -> None:
        shown.append(prompt)
        approvals.append(asyncio.create_task(approve_after_a_pending_poll(prompt.user_code)))

    try:
        sync = tuned_service(session, make_settings(tmp_path))
        report = await sync.connect(
            "dataverse", server.url, ConnectionOptions(auth="device"), on_device_code=on_code
        )
        await asyncio.gather(*approvals)
        assert report.user_id == server.user.id and "account" in report.entities
        assert [p.verification_uri for p in shown] == [f"{server.url}/devicelogin"]
        credentials = await session.settings.credentials()
        assert credentials["auth"] == "device" and credentials["authority"] == server.authority
        tokens = credentials["tokens"]
        assert tokens["access_token"] and tokens["refresh_token"]
        summary = await sync.sync(["account"])
        assert summary["pulled"] == server.count("account") and summary["errors"] == 0
        tokens = (await session.settings.credentials())["tokens"]
    finally:
        await session.close()
    on_disk = _profile_bytes(tmp_path)
    for secret in (tokens["access_token"], tokens["refresh_token"], shown[0].device_code):
        assert secret.encode() not in on_disk
    assert b"demo@example.com" not in on_disk


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TUI_CRM_CONFIG"] = str(tmp_path / "config.toml")
    env["TUI_CRM_KDF__MEMORY_KIB"] = str(CHEAP_KDF.memory_kib)
    env["TUI_CRM_KDF__ITERATIONS"] = "1"
    env["TUI_CRM_KDF__LANES"] = "1"
    return env


def _cli(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tui_crm.cli.main", "--profile", str(tmp_path / "p"), *args]


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The rest of stdout/stderr once the process ends (stdin already closed)."""
    process.wait(timeout=60)
    assert process.stdout is not None and process.stderr is not None
    return process.stdout.read(), process.stderr.read()


def test_cli_connect_with_device_code_shows_the_code_and_waits_for_approval(
    tmp_path: Path, server: DataverseEmulator
) -> None:
    init = subprocess.run(
        _cli(tmp_path, "--password-stdin", "init"),
        input=PROFILE_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=_cli_env(tmp_path),
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    process = subprocess.Popen(
        _cli(tmp_path, "--password-stdin", "connect", "dataverse", "--url", server.url),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_env(tmp_path),
    )
    try:
        assert process.stdin is not None and process.stderr is not None
        process.stdin.write(PROFILE_PASSWORD + "\n")
        process.stdin.close()
        line = process.stderr.readline()
        match = re.search(r"open (\S+) and enter the code ([A-Z0-9]+)", line)
        assert match is not None, line
        assert match.group(1) == f"{server.url}/devicelogin"
        assert server.pending_user_codes() == [match.group(2)]
        assert server.approve_device_code(match.group(2)) == 1
        out, err = _finish(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.startswith(f"connected to {server.url} (dataverse)")
    synced = subprocess.run(
        _cli(tmp_path, "--password-stdin", "sync", "--entity", "contact", "--json"),
        input=PROFILE_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=_cli_env(tmp_path),
        timeout=60,
    )
    assert synced.returncode == 0, synced.stderr
    assert f'"pulled": {server.count("contact")}' in synced.stdout


def test_cli_connect_with_a_declined_code_fails_in_one_line(
    tmp_path: Path, server: DataverseEmulator
) -> None:
    subprocess.run(
        _cli(tmp_path, "--password-stdin", "init"),
        input=PROFILE_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=_cli_env(tmp_path),
        timeout=60,
        check=True,
    )
    process = subprocess.Popen(
        _cli(tmp_path, "--password-stdin", "connect", "dataverse", "--url", server.url),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cli_env(tmp_path),
    )
    try:
        assert process.stdin is not None and process.stderr is not None
        process.stdin.write(PROFILE_PASSWORD + "\n")
        process.stdin.close()
        assert "enter the code" in process.stderr.readline()
        assert server.decline_device_code() == 1
        out, err = _finish(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1 and out == ""
    assert err.strip().splitlines() == ["tui-crm: sign-in was declined"]


async def test_authority_is_discovered_from_the_401_challenge(
    tmp_path: Path, server: DataverseEmulator
) -> None:
    session = await ProfileService(tmp_path / "profile", kdf=CHEAP_KDF).create(PROFILE_PASSWORD)
    try:
        sync = tuned_service(session, make_settings(tmp_path))
        await sync.connect(
            "dataverse",
            server.url,
            ConnectionOptions(auth="password", user=DEMO_USER, password=DEMO_PASSWORD),
        )
        credentials = await session.settings.credentials()
    finally:
        await session.close()
    assert credentials["authority"] == f"{server.url}/{server.tenant_id}"
    assert server.request_log[0] == "GET /api/data/v9.2/WhoAmI", "asked unauthenticated first"


@pytest.mark.parametrize("where", ["https://login.evil.example", "loopback-other-name"])
async def test_an_authority_on_another_host_is_refused_before_any_password_leaves(
    tmp_path: Path, server: DataverseEmulator, where: str
) -> None:
    port = server.url.rsplit(":", 1)[1]
    server.config.authority_origin = (
        f"http://localhost:{port}" if where == "loopback-other-name" else where
    )
    session = await ProfileService(tmp_path / "profile", kdf=CHEAP_KDF).create(PROFILE_PASSWORD)
    try:
        sync = tuned_service(session, make_settings(tmp_path))
        with pytest.raises(AuthenticationFailed) as caught:
            await sync.connect(
                "dataverse",
                server.url,
                ConnectionOptions(auth="password", user=DEMO_USER, password=DEMO_PASSWORD),
            )
        assert not await sync.is_connected()
        assert await session.settings.credentials() == {}
    finally:
        await session.close()
    host = "login.evil.example" if where.startswith("https") else "localhost"
    assert str(caught.value) == (
        f"refusing sign-in authority at {host}: not a Microsoft login host"
    )
    assert server.identity.tokens == {}, "no sign-in reached even the loopback alias"
