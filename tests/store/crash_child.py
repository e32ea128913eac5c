"""Child process for the kill loops: does work forever and acknowledges each finished step.

Run as a script: `crash_child.py passwd DIR A B` flips the password A→B→A…,
printing the password now in force after each change; `crash_child.py write DIR PW`
creates records, printing each id once its transaction has committed.
It drives the store directly (no services, no event loop) so it starts fast.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tui_crm.store import vault
from tui_crm.store.database import transaction
from tui_crm.store.entities import load_entity
from tui_crm.store.keyfile import KdfParams
from tui_crm.store.paths import ProfilePaths
from tui_crm.store.records import create_record

CHEAP = KdfParams(memory_kib=19456, iterations=1, lanes=1)


def flip_passwords(paths: ProfilePaths, first: str, second: str) -> None:
    current, other = first, second
    print("ready", flush=True)
    while True:
        vault.change_password(paths, current, other, CHEAP, time.time)
        current, other = other, current
        print(current, flush=True)


def write_records(paths: ProfilePaths, password: str) -> None:
    conn = vault.unlock_profile(paths, password, time.time)
    account = load_entity(conn, "account")
    print("ready", flush=True)
    number = 0
    while True:
        number += 1
        with transaction(conn):
            record = create_record(
                conn,
                account,
                {"name": f"Crash {number}", "description": "x" * (number % 700)},
                now="2024-01-01T00:00:00Z",
            )
        print(record.id, flush=True)


def main() -> None:
    mode, folder, *passwords = sys.argv[1:]
    paths = ProfilePaths(Path(folder))
    if mode == "passwd":
        flip_passwords(paths, passwords[0], passwords[1])
    else:
        write_records(paths, passwords[0])


if __name__ == "__main__":
    main()
