"""Nearby search and map rendering figures, printed as one JSON document.

    python bench/geo_bench.py [--sizes 10000,1000000] [--queries 30] [--skip-scan]

Records are spread at the same density for every size (about 300 inside any
10 km circle), so the index's job is the same and only the table grows: the
query should cost about the same at 1M as at 10k, while the brute-force scan
(every row fetched and measured geodesically) grows with the table. Rows are
written straight into `records` and the R*Tree (store internals, bench only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from geographiclib.geodesic import Geodesic

from tui_crm.config import KdfSettings
from tui_crm.geo.mapping import fit_scale
from tui_crm.geo.nearby import Candidate, NearbyHit, rank
from tui_crm.geo.render import DeviceMarker, MapPin, MapView, render_map
from tui_crm.services.profile import ProfileService
from tui_crm.services.session import Session
from tui_crm.store.database import Connection

CENTRE = (50.0, 10.0)
PER_10KM_CIRCLE = 300
RADIUS_M = 10_000.0
TOP = 50
BATCH = 20_000
WGS84 = Geodesic.WGS84


def half_extent_deg(count: int) -> tuple[float, float]:
    """Half the side of the square (in degrees lat, lon) holding `count` rows at our density."""
    density_per_km2 = PER_10KM_CIRCLE / (math.pi * 100.0)
    side_km = math.sqrt(count / density_per_km2)
    half_lat = side_km / 2 / 111.2
    half_lon = half_lat / math.cos(math.radians(CENTRE[0]))
    return half_lat, half_lon


def fill(conn: Connection, count: int, seed: int) -> None:
    rng = random.Random(seed)
    half_lat, half_lon = half_extent_deg(count)
    conn.execute("BEGIN IMMEDIATE")
    for start in range(0, count, BATCH):
        rows = []
        for i in range(start, min(count, start + BATCH)):
            lat = CENTRE[0] + rng.uniform(-half_lat, half_lat)
            lon = CENTRE[1] + rng.uniform(-half_lon, half_lon)
            body = json.dumps(
                {"name": f"Account {i}", "address1_latitude": lat, "address1_longitude": lon}
            )
            rows.append(
                (
                    i + 1,
                    "account",
                    f"{i:08d}-0000-4000-8000-000000000000",
                    f"Account {i}",
                    lat,
                    lon,
                    body,
                )
            )
        conn.executemany(
            "INSERT INTO records(rowid, entity, id, name, latitude, longitude, state, body)"
            " VALUES (?, ?, ?, ?, ?, ?, 'synced', ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO record_positions(id, min_lat, max_lat, min_lon, max_lon)"
            " VALUES (?, ?, ?, ?, ?)",
            [(r[0], r[4], r[4], r[5], r[5]) for r in rows],
        )
    conn.execute("COMMIT")


def query_points(count: int, queries: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    half_lat, half_lon = half_extent_deg(count)
    margin = 0.6  # stay away from the edges so every circle is full
    return [
        (
            CENTRE[0] + rng.uniform(-half_lat, half_lat) * margin,
            CENTRE[1] + rng.uniform(-half_lon, half_lon) * margin,
        )
        for _ in range(queries)
    ]


def scan_all(conn: Connection) -> list[Candidate]:
    return [
        Candidate(entity, ident, name, lat, lon)
        for entity, ident, name, lat, lon in conn.execute(
            "SELECT entity, id, name, latitude, longitude FROM records WHERE latitude IS NOT NULL"
        )
    ]


def brute_force(candidates: list[Candidate], lat: float, lon: float) -> list[NearbyHit]:
    """Every row measured with an exact geodesic, then sorted: what the index avoids."""
    return rank(candidates, lat, lon, RADIUS_M, None)[:TOP]


def ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 3),
    }


async def measure_size(count: int, queries: int, skip_scan: bool, folder: Path) -> dict[str, Any]:
    service = ProfileService(folder, kdf=KdfSettings(memory_kib=19456, iterations=1, lanes=1))
    session: Session = await service.create("bench password")
    try:
        started = time.perf_counter()
        await session.run(lambda conn: fill(conn, count, seed=count))
        fill_s = time.perf_counter() - started
        points = query_points(count, queries, seed=7)
        await session.nearby.nearby(*points[0], RADIUS_M, ["account"], limit=TOP)  # warm caches
        timings, hits = [], []
        for lat, lon in points:
            t0 = time.perf_counter()
            result = await session.nearby.nearby(lat, lon, RADIUS_M, ["account"], limit=TOP)
            timings.append(time.perf_counter() - t0)
            hits.append(len(result.hits))
        figures: dict[str, Any] = {
            "records": count,
            "fill_seconds": round(fill_s, 1),
            "queries": queries,
            "nearby_top50_10km": ms(timings),
            "mean_hits": round(statistics.mean(hits), 1),
        }
        if not skip_scan:
            scans = []
            for lat, lon in points[:3] if count <= 100_000 else points[:1]:
                t0 = time.perf_counter()
                rows = await session.run(scan_all)
                expected = await asyncio.to_thread(brute_force, rows, lat, lon)
                scans.append(time.perf_counter() - t0)
                indexed = await session.nearby.nearby(lat, lon, RADIUS_M, ["account"], limit=TOP)
                if [h.id for h in indexed.hits] != [h.id for h in expected]:
                    raise SystemExit("index and brute force disagree")
            figures["brute_force_scan"] = ms(scans)
            figures["scan_runs"] = len(scans)
        return figures
    finally:
        await session.close()


def measure_render(runs: int = 5) -> dict[str, Any]:
    rng = random.Random(3)
    width, height = 200, 60
    mpc = fit_scale(5_000, width, height)
    pins: list[MapPin] = []
    for i in range(1000):
        d = WGS84.Direct(*CENTRE, rng.uniform(0, 360), rng.uniform(0, 5_000))
        pins.append(MapPin(f"account:{i}", d["lat2"], d["lon2"], "x", f"Account {i}", rank=i))
    view = MapView(*CENTRE, mpc, width, height, "braille", range_ring_m=5_000)
    device = DeviceMarker(*CENTRE, accuracy_m=25.0)
    timings, dropped = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        rendered = render_map(view, pins, device)
        timings.append(time.perf_counter() - t0)
        dropped = rendered.dropped_labels
    return {
        "size": f"{width}x{height}",
        "mode": "braille",
        "pins": 1000,
        "dropped_labels": dropped,
        **ms(timings),
    }


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--skip-scan", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    report: dict[str, Any] = {"radius_m": RADIUS_M, "top": TOP, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="geo-bench-") as tmp:
        for count in sizes:
            figures = await measure_size(
                count, args.queries, args.skip_scan, Path(tmp) / str(count)
            )
            report["sizes"][str(count)] = figures
            print(json.dumps({"progress": figures}), file=sys.stderr)
    small, large = report["sizes"].get(str(min(sizes))), report["sizes"].get(str(max(sizes)))
    if small and large and small is not large:
        report["large_vs_small_query_ratio"] = round(
            large["nearby_top50_10km"]["median_ms"] / small["nearby_top50_10km"]["median_ms"], 2
        )
        if "brute_force_scan" in large:
            report["speedup_vs_scan_at_largest"] = round(
                large["brute_force_scan"]["median_ms"] / large["nearby_top50_10km"]["median_ms"], 1
            )
    report["render"] = measure_render()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
