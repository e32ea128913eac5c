"""Dataverse emulator throughput: seeding, and a change-tracked pull in pages of 5000.

Prints one JSON document. The sync benchmark's floor (pages fetched and parsed)
depends on how fast the emulator serves, so this tells how much of that floor
is the server. Usage: python bench/emulator_bench.py [--records N]
"""

from __future__ import annotations

import argparse
import json
import time

import httpx

from tui_crm.emulator.dataverse import DataverseEmulator

SELECT = "name,telephone1,emailaddress1,address1_city,address1_latitude,address1_longitude"


def pull(client: httpx.Client, url: str, gzip: bool) -> tuple[int, int, int, float]:
    """Every page of a tracked read: records, pages, bytes on the wire, seconds."""
    headers = {
        "Prefer": "odata.track-changes,odata.maxpagesize=5000",
        "Accept-Encoding": "gzip" if gzip else "identity",
    }
    records = pages = wire = 0
    started = time.perf_counter()
    next_url: str | None = url
    while next_url:
        response = client.get(next_url, headers=headers)
        response.raise_for_status()
        wire += int(response.headers.get("Content-Length", len(response.content)))
        page = response.json()
        records += len(page["value"])
        pages += 1
        next_url = page.get("@odata.nextLink")
    return records, pages, wire, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000, help="accounts to seed")
    args = parser.parse_args()
    started = time.perf_counter()
    emulator = DataverseEmulator(records=args.records, seed=1)
    seed_seconds = time.perf_counter() - started
    figures: dict[str, object] = {"records": args.records, "seed_seconds": round(seed_seconds, 2)}
    with emulator, httpx.Client(timeout=120) as client:
        token = client.post(
            f"{emulator.url}/organizations/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": "bench",
                "username": "demo@example.com",
                "password": "demo",
                "scope": emulator.scope,
            },
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        url = f"{emulator.api_url}accounts?$select={SELECT}"
        for label, gzip in (("cold_plain", False), ("warm_plain", False), ("warm_gzip", True)):
            records, pages, wire, seconds = pull(client, url, gzip)
            figures[label] = {
                "records": records,
                "pages": pages,
                "bytes": wire,
                "seconds": round(seconds, 3),
                "records_per_second": round(records / seconds),
            }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
