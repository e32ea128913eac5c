"""Plaintext canary: CRM data written through the CLI is found in no file on disk.

A unique marker goes into records by every write path (create, update,
import from stdin, a killed import that leaves a hot WAL behind); then every
byte of every file under the test's root (profile folder with db, -wal, -shm,
key file, lockout and logs; config dir; XDG data/config/cache/state; HOME) is
searched for it in UTF-8, UTF-16-LE and UTF-16-BE.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from cli_harness import PASSWORD, Cli


def _encodings(marker: str) -> list[bytes]:
    return [marker.encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be")]


def _hits(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    files = [path for path in root.rglob("*") if path.is_file()]
    assert files, "nothing to search"
    for path in files:
        data = path.read_bytes()
        found.extend(f"{path} ({needle!r})" for needle in needles if needle in data)
    return found


def test_marker_is_in_no_file_after_cli_writes(ready: Cli) -> None:
    marker = f"CANARY{uuid.uuid4().hex}"
    secret_city = f"{marker}city"
    ident = ready.ok(
        "records",
        "create",
        "account",
        "--set",
        f"name={marker} Ltd",
        "--set",
        f"description=first line {marker}\nsecond line",
        "--set",
        f"emailaddress1={marker.lower()}@example.com",
    ).stdout.strip()
    ready.ok("records", "update", "account", ident, "--set", f"address1_city={secret_city}")
    rows = "".join(f"{marker} row {i},{marker} note {i}\n" for i in range(200))
    ready.ok("records", "import", "contact", "--file", "-", stdin="lastname,description\n" + rows)
    # A failed write (invalid value) must not leave the marker in a log either.
    failed = ready.run(
        "records", "create", "account", "--set", f"name={marker}", "--set", "revenue=not-a-number"
    )
    assert failed.returncode == 1
    assert marker not in failed.stderr
    found = ready.ok("records", "list", "contact", "--search", marker[:12].lower(), "--json")
    assert marker in found.stdout  # the data is there, readable through the key only
    assert _hits(ready.root, _encodings(marker)) == []
    assert _hits(ready.root, _encodings(PASSWORD)) == []
    profile_files = {path.name for path in ready.profile.iterdir()}
    assert {"profile.db", "profile.key"} <= profile_files


def test_marker_is_in_no_file_after_an_import_is_killed(ready: Cli) -> None:
    marker = f"CANARY{uuid.uuid4().hex}"
    rows = "".join(f"{marker} {i},{'x' * 200} {marker}\n" for i in range(20000))
    process = subprocess.Popen(
        ready.command("records", "import", "account", "--file", "-"),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ready.env,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(f"{PASSWORD}\nname,description\n{rows}".encode())
    process.stdin.close()
    # Kill once the import has started writing (the WAL grows), while it is open.
    wal = ready.profile / "profile.db-wal"
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 64 * 1024:
            break
        time.sleep(0.01)
    killed_while_open = process.poll() is None
    if killed_while_open:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if killed_while_open:
        assert wal.stat().st_size > 64 * 1024  # the hot WAL is among the files searched
    assert _hits(ready.root, _encodings(marker)) == []
    ready.ok("check")
