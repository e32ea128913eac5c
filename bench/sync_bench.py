"""Sync benchmark: prints JSON figures (not a test).

* initial sync of N accounts + N contacts from the emulator over loopback:
  records/s, and the ratio against the floor (the same pages fetched and
  parsed by the connector, then discarded) — target <= 1.4;
* incremental sync with no changes: requests and bytes per entity (target one
  request and < 2 KB each), split into request line, request headers (the
  bearer token is most of them), response head and body, as counted on the wire;
  once one table at a time, once every synced table together (one `$batch`);
* incremental sync with 100 local changes: seconds.

Usage: python bench/sync_bench.py [--records 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tui_crm.config import KdfSettings, Settings
from tui_crm.connectors.base import PullRequest
from tui_crm.connectors.http import HttpClient
from tui_crm.services.profile import ProfileService
from tui_crm.services.sync import ConnectionOptions, SyncService
from tui_crm.store import sync_store

ENTITIES = ["account", "contact"]
KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)


def spawn_emulator(records: int) -> tuple[subprocess.Popen[str], str]:
    """The emulator in a process of its own, as a server is: it must not share this
    process's interpreter lock with the client whose speed is being measured."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tui_crm.cli.main", "emulator", "dataverse", "--port", "0"),
            *("--records", str(records), "--seed", "1", "--rate-limit", "1000000"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TUI_CRM_CONFIG": os.devnull},
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"the emulator did not start: {url!r}")
    return process, url


async def run(records: int) -> dict[str, Any]:
    emulator, url = spawn_emulator(records)
    folder = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    settings = Settings(profile=folder / "profile", kdf=KDF)
    session = await ProfileService(settings.profile, kdf=KDF).create("bench-password")
    figures: dict[str, Any] = {"records_per_entity": records}
    try:
        sync = SyncService(session, settings)
        clients: list[HttpClient] = []
        make = sync._client

        def capture(url: str, *extra: str) -> HttpClient:
            clients.append(make(url, *extra))
            return clients[-1]

        sync._client = capture  # type: ignore[method-assign]  # to read each run's counters
        await sync.connect(
            "dataverse",
            url,
            ConnectionOptions(auth="password", user="demo@example.com", password="demo"),
        )
        # Floor: the connector fetches and parses every page; nothing is stored.
        connector = await sync._open_connector()
        definitions = {e.name: e for e in await session.records.entities()}
        started = time.perf_counter()
        floor_rows = 0
        for name in ENTITIES:
            entity = definitions[name]
            request = PullRequest(entity, [f.name for f in entity.fields])
            async for page in connector.pull(request):
                floor_rows += len(page.upserts)
        floor_seconds = time.perf_counter() - started
        await connector.aclose()

        started = time.perf_counter()
        initial = await sync.sync(ENTITIES)
        sync_seconds = time.perf_counter() - started
        figures["initial"] = {
            "records": initial["pulled"],
            "seconds": round(sync_seconds, 3),
            "records_per_second": round(initial["pulled"] / sync_seconds),
            "floor_records": floor_rows,
            "floor_seconds": round(floor_seconds, 3),
            "ratio_to_floor": round(sync_seconds / floor_seconds, 3),
            "requests": initial["requests"],
            "bytes_received": initial["bytes_received"],
        }
        per_entity = {}
        for name in ENTITIES:
            before = len(clients)
            quiet = await sync.sync([name])
            parts: dict[str, int] = {}
            for http in clients[before:]:
                for part, size in http.counters.parts.items():
                    parts[part] = parts.get(part, 0) + size
            per_entity[name] = {
                "requests": quiet["requests"],
                "bytes": quiet["bytes_received"] + quiet["bytes_sent"],
                "bytes_by_part": parts,
            }
        figures["incremental_no_changes"] = per_entity

        # Every synced table at once: their delta GETs travel in one $batch.
        await sync.sync()  # the first pull of the tables not synced above
        before = len(clients)
        quiet_all = await sync.sync()
        tables = len(await session.run(sync_store.sync_enabled_entities))
        moved = quiet_all["bytes_received"] + quiet_all["bytes_sent"]
        parts = {}
        for http in clients[before:]:
            for part, size in http.counters.parts.items():
                parts[part] = parts.get(part, 0) + size
        figures["incremental_no_changes_all_tables"] = {
            "tables": tables,
            "requests": quiet_all["requests"],
            "bytes": moved,
            "bytes_per_table": round(moved / tables),
            "bytes_by_part": parts,
        }

        page = await session.records.list("account", limit=100)
        for i, record in enumerate(page.records):
            await session.records.update("account", record.id, {"telephone1": f"+421 900 {i:03}"})
        started = time.perf_counter()
        changed = await sync.sync(ENTITIES)
        figures["incremental_100_changes"] = {
            "pushed": changed["pushed"],
            "seconds": round(time.perf_counter() - started, 3),
            "requests": changed["requests"],
        }
    finally:
        await session.close()
        emulator.send_signal(signal.SIGINT)
        emulator.wait(30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000, help="accounts and contacts each")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.records)), indent=2))


if __name__ == "__main__":
    main()
