"""Radius search against a brute-force geodesic scan, worldwide, at the edges of the map."""

from __future__ import annotations

import random
import struct

import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_crm.geo.nearby import (
    Box,
    Candidate,
    IndexEntry,
    NearbyHit,
    bounding_boxes,
    grow_radii,
    holds_the_nearest,
    nearest_first,
    normalize_lon,
    rank,
)

WGS84 = Geodesic.WGS84

SPECIAL_CENTRES = [
    (0.0, 179.9999),
    (0.0, -180.0),
    (-33.9, 179.95),
    (65.0, -179.99),
    (89.99, 10.0),
    (90.0, 0.0),
    (-90.0, 0.0),
    (-89.5, 120.0),
    (48.1173, 11.5167),
    (0.0, 0.0),
]
RADII = [0.0, 1.0, 500.0, 10_000.0, 150_000.0, 1_500_000.0]


def in_boxes(boxes: list[Box], lat: float, lon: float) -> bool:
    return any(b.south <= lat <= b.north and b.west <= lon <= b.east for b in boxes)


def brute_force(points: list[Candidate], lat: float, lon: float, radius: float) -> list[NearbyHit]:
    """Every point measured, nothing pruned: the reference the index must match."""
    hits = []
    for p in points:
        g = WGS84.Inverse(lat, lon, p.latitude, p.longitude)
        if g["s12"] <= radius:
            hits.append(
                NearbyHit(
                    p.entity, p.id, p.name, p.latitude, p.longitude, g["s12"], g["azi1"] % 360
                )
            )
    return sorted(hits, key=lambda h: (h.distance_m, h.entity, h.id))


def scatter(
    rng: random.Random, lat: float, lon: float, radius: float, count: int
) -> list[Candidate]:
    """Points worldwide, around the centre (inside and just outside), and on it."""
    points = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            plat, plon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        else:
            spread = max(radius, 1.0) * (1.3 if kind == 1 else 1.02)
            d = WGS84.Direct(lat, lon, rng.uniform(0, 360), rng.uniform(0, spread))
            plat, plon = d["lat2"], normalize_lon(d["lon2"])
        points.append(
            Candidate(rng.choice(["account", "contact"]), f"{i:05d}", f"n{i}", plat, plon)
        )
    points.append(Candidate("account", "centre", "c", lat, normalize_lon(lon)))
    points.append(Candidate("contact", "centre", "c", lat, normalize_lon(lon)))
    return points


@pytest.mark.parametrize("centre", SPECIAL_CENTRES)
@pytest.mark.parametrize("radius", RADII)
def test_index_path_matches_brute_force(centre: tuple[float, float], radius: float) -> None:
    rng = random.Random(hash((centre, radius)) & 0xFFFF)
    lat, lon = centre
    points = scatter(rng, lat, lon, radius, 400)
    boxes = bounding_boxes(lat, lon, radius)
    candidates = [p for p in points if in_boxes(boxes, p.latitude, p.longitude)]
    expected = brute_force(points, lat, lon, radius)
    assert rank(candidates, lat, lon, radius) == expected
    for limit in (1, 5, 50):
        assert rank(candidates, lat, lon, radius, limit) == expected[:limit]
    assert len(expected) >= 2  # the centre points at least: the comparison is never vacuous


@settings(max_examples=150, deadline=None)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180, exclude_max=True),
    radius=st.one_of(st.just(0.0), st.floats(0.5, 3_000_000)),
    azimuth=st.floats(0, 360),
)
def test_every_point_of_the_circle_lies_in_a_box(
    lat: float, lon: float, radius: float, azimuth: float
) -> None:
    """The boxes must never be tight: points on the rim, at any azimuth, are inside."""
    boxes = bounding_boxes(lat, lon, radius)
    for k in range(16):
        d = WGS84.Direct(lat, lon, azimuth + k * 22.5, radius * (1 - 1e-12))
        assert in_boxes(boxes, d["lat2"], normalize_lon(d["lon2"])), (boxes, d)


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180, exclude_max=True),
    radius=st.floats(0, 400_000),
    seed=st.integers(0, 2**32),
    limit=st.integers(1, 30),
)
def test_random_worldwide_queries_match_brute_force(
    lat: float, lon: float, radius: float, seed: int, limit: int
) -> None:
    points = scatter(random.Random(seed), lat, lon, radius, 120)
    boxes = bounding_boxes(lat, lon, radius)
    candidates = [p for p in points if in_boxes(boxes, p.latitude, p.longitude)]
    expected = brute_force(points, lat, lon, radius)
    assert rank(candidates, lat, lon, radius, limit) == expected[:limit]


def test_boxes_split_at_the_antimeridian_and_stay_in_range() -> None:
    boxes = bounding_boxes(10.0, 179.99, 20_000)
    assert len(boxes) == 2
    assert {b.east for b in boxes} >= {180.0} and {b.west for b in boxes} >= {-180.0}
    for b in boxes:
        assert -180 <= b.west <= b.east <= 180 and -90 <= b.south <= b.north <= 90


def test_a_circle_around_a_pole_covers_every_longitude() -> None:
    (box,) = bounding_boxes(89.9, 45.0, 20_000)
    assert (box.north, box.west, box.east) == (90.0, -180.0, 180.0)
    (south_box,) = bounding_boxes(-89.95, -45.0, 10_000)
    assert (south_box.south, south_box.west, south_box.east) == (-90.0, -180.0, 180.0)


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        bounding_boxes(91.0, 0.0, 10)
    with pytest.raises(ValueError):
        bounding_boxes(0.0, 0.0, -1)


def test_invalid_candidate_positions_are_left_out() -> None:
    points = [
        Candidate("account", "ok", "", 48.0, 11.0),
        Candidate("account", "nan", "", float("nan"), 11.0),
        Candidate("account", "far", "", 95.0, 11.0),
    ]
    assert [h.id for h in rank(points, 48.0, 11.0, 1000)] == ["ok"]


def test_bearing_is_clockwise_from_north() -> None:
    east = Candidate("account", "e", "", 0.0, 0.01)
    south = Candidate("account", "s", "", -0.01, 0.0)
    hits = {h.id: h for h in rank([east, south], 0.0, 0.0, 10_000)}
    assert hits["e"].bearing_deg == pytest.approx(90.0)
    assert hits["s"].bearing_deg == pytest.approx(180.0)
    assert hits["e"].distance_m == pytest.approx(1113.19, abs=0.01)


def test_grow_radii_doubles_and_ends_at_the_cap() -> None:
    assert grow_radii(1000, 10_000) == [1000, 2000, 4000, 8000, 10_000]
    assert grow_radii(20_000, 10_000) == [10_000]


def _f32_step(value: float, up: bool) -> float:
    """The next 32-bit float after `value` (itself a 32-bit float), up or down."""
    bits = struct.unpack("<i", struct.pack("<f", value))[0]
    if value == 0.0:
        return 1e-45 if up else -1e-45
    bits += 1 if (value > 0) == up else -1
    return float(struct.unpack("<f", struct.pack("<i", bits))[0])


def _f32_box(key: int, lat: float, lon: float) -> IndexEntry:
    """What the R*Tree keeps: 32-bit floats rounded outward around the point."""

    def down_up(value: float) -> tuple[float, float]:
        f = float(struct.unpack("<f", struct.pack("<f", value))[0])
        low = f if f <= value else _f32_step(f, up=False)
        high = f if f >= value else _f32_step(f, up=True)
        assert low <= value <= high
        return low, high

    south, north = down_up(lat)
    west, east = down_up(lon)
    return IndexEntry(key, south, north, west, east)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-89.0, 89.0),
    st.floats(-179.0, 179.0),
    st.lists(st.tuples(st.floats(-0.3, 0.3), st.floats(-0.3, 0.3)), min_size=1, max_size=40),
)
def test_index_bounds_never_exceed_the_exact_distance(
    lat: float, lon: float, offsets: list[tuple[float, float]]
) -> None:
    """The order's lower bounds are below every exact geodesic, whatever the float32 box."""
    points = [(min(90.0, max(-90.0, lat + a)), lon + b) for a, b in offsets]
    entries = [_f32_box(i, plat, plon) for i, (plat, plon) in enumerate(points)]
    for lower, key in nearest_first(entries, lat, lon, 1e9):
        exact = WGS84.Inverse(lat, lon, *points[key])["s12"]
        assert lower <= exact + 1e-9, (lower, exact)


def test_an_unread_entry_that_could_tie_is_read() -> None:
    here = (48.0, 11.0)
    there = Candidate("account", "a", "A", 48.001, 11.0)
    exact = WGS84.Inverse(*here, there.latitude, there.longitude)["s12"]
    # an unread entry exactly as far as the one read: it could tie, so keep reading
    assert not holds_the_nearest([there], *here, 10_000.0, 1, exact)
    assert holds_the_nearest([there], *here, 10_000.0, 1, exact * 1.02)
    # the one read is outside the radius: nothing is sure yet
    assert not holds_the_nearest([there], *here, exact * 0.5, 1, exact * 2)
    assert not holds_the_nearest([there], *here, 10_000.0, 2, 1e9), "fewer than the limit"
    assert holds_the_nearest([], *here, 10_000.0, 0, 0.0)
