"""Radius search: bounding boxes for the index, then exact geodesics, nearest first.

The boxes only have to be generous, never tight: every candidate is then
measured with geographiclib and kept only if its geodesic distance is within
the radius. Boxes are split at the antimeridian and cover every longitude
when the circle reaches a pole, so nothing near those edges is missed.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from geographiclib.geodesic import Geodesic

from tui_crm.geo.fix import is_usable_position

WGS84 = Geodesic.WGS84
_INVERSE_MASK = Geodesic.DISTANCE | Geodesic.AZIMUTH
MIN_CURVATURE_RADIUS_M = WGS84.a * (1 - WGS84.f) ** 2
"""b²/a, the smallest radius of curvature on WGS84: angular radii computed with
it are never smaller than the true ones, which keeps the boxes generous."""
MEAN_RADIUS_M = 6_371_008.8
LON_PAD = 1.01
"""Spherical longitude extent vs the ellipsoid: worst ratio measured ≈ 1.0056."""
EDGE_PAD_DEG = 1e-7
HAVERSINE_LOWER_BOUND = 0.985
"""Geodesic / haversine distance never drops below ≈ 0.994 on WGS84; 0.985 is safe."""
HAVERSINE_UPPER_BOUND = 1.015
"""Geodesic / haversine distance never exceeds ≈ 1.0067 on WGS84; 1.015 is safe."""
SPHERE_M_PER_DEG = 111_200.0
"""A degree of latitude, or the most a degree of longitude spans, on the mean sphere
(111,195 m), rounded up: the slack of a point known only to lie in a small box."""


class Box(NamedTuple):
    """Degrees: south <= north, west <= east, never crossing the antimeridian."""

    south: float
    north: float
    west: float
    east: float


@dataclass(frozen=True, slots=True)
class Candidate:
    entity: str
    id: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class NearbyHit:
    entity: str
    id: str
    name: str
    latitude: float
    longitude: float
    distance_m: float
    bearing_deg: float

    def to_json(self) -> dict[str, object]:
        """The shape CLI.md fixes for `nearby --json`."""
        return {
            "entity": self.entity,
            "id": self.id,
            "name": self.name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "distance_m": round(self.distance_m, 3),
            "bearing_deg": round(self.bearing_deg, 3),
        }


def normalize_lon(lon: float) -> float:
    """Into [-180, 180); values already there are returned untouched (no float drift)."""
    if -180.0 <= lon < 180.0:
        return lon
    wrapped = math.fmod(lon + 180.0, 360.0)
    if wrapped < 0:
        wrapped += 360.0
    return wrapped - 180.0


def contains_pole(lat: float, lon: float, radius_m: float) -> int:
    """+1 / -1 if the circle contains the north / south pole, else 0 (exact geodesic)."""
    if WGS84.Inverse(lat, lon, 90.0, 0.0, Geodesic.DISTANCE)["s12"] <= radius_m:
        return 1
    if WGS84.Inverse(lat, lon, -90.0, 0.0, Geodesic.DISTANCE)["s12"] <= radius_m:
        return -1
    return 0


def bounding_boxes(lat: float, lon: float, radius_m: float) -> list[Box]:
    """One or two boxes that together contain every point within `radius_m` of (lat, lon)."""
    if radius_m < 0 or not is_usable_position(lat, lon):
        raise ValueError("bounding box needs a valid position and a radius >= 0")
    lon = normalize_lon(lon)
    delta = radius_m / MIN_CURVATURE_RADIUS_M
    delta_deg = math.degrees(delta) + EDGE_PAD_DEG
    south = max(-90.0, lat - delta_deg)
    north = min(90.0, lat + delta_deg)
    pole = contains_pole(lat, lon, radius_m)
    if pole == 1:
        return [Box(south, 90.0, -180.0, 180.0)]
    if pole == -1:
        return [Box(-90.0, north, -180.0, 180.0)]
    cos_lat = math.cos(math.radians(lat))
    if delta >= math.pi / 2 or north >= 90.0 or south <= -90.0 or cos_lat <= 0:
        return [Box(south, north, -180.0, 180.0)]
    ratio = math.sin(delta) / cos_lat
    if ratio >= 1.0:
        return [Box(south, north, -180.0, 180.0)]
    delta_lon = math.degrees(math.asin(ratio)) * LON_PAD + EDGE_PAD_DEG
    if delta_lon >= 180.0:
        return [Box(south, north, -180.0, 180.0)]
    west, east = lon - delta_lon, lon + delta_lon
    if east >= 180.0:
        return [Box(south, north, west, 180.0), Box(south, north, -180.0, east - 360.0)]
    if west <= -180.0:
        return [Box(south, north, west + 360.0, 180.0), Box(south, north, -180.0, east)]
    return [Box(south, north, west, east)]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Spherical distance: a cheap ordering key, never an answer."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class IndexEntry(NamedTuple):
    """A spatial-index entry: a key and the small box the point is known to lie in
    (the R*Tree keeps 32-bit floats rounded outward, so the box has a width)."""

    key: int
    south: float
    north: float
    west: float
    east: float


def nearest_first(
    entries: Iterable[IndexEntry], lat: float, lon: float, radius_m: float
) -> list[tuple[float, int]]:
    """(lower bound of the geodesic distance, key) of the entries that may lie within
    the radius, smallest bound first: the order in which to read their records."""
    bounded = []
    for e in entries:
        mid_lat, mid_lon = (e.south + e.north) / 2, (e.west + e.east) / 2
        slack = ((e.north - e.south) + (e.east - e.west)) / 2 * SPHERE_M_PER_DEG
        spherical = haversine_m(lat, lon, mid_lat, mid_lon) - slack
        lower = max(0.0, spherical) * HAVERSINE_LOWER_BOUND
        if lower <= radius_m:
            bounded.append((lower, e.key))
    bounded.sort()
    return bounded


def holds_the_nearest(
    found: Iterable[Candidate],
    lat: float,
    lon: float,
    radius_m: float,
    limit: int,
    next_lower_m: float,
) -> bool:
    """Whether `found` already holds the `limit` nearest within the radius, given that
    every candidate not read yet is at least `next_lower_m` away.

    True once `limit` of them are surely within the radius and surely nearer than
    anything unread (strictly, so no unread record can even tie).
    """
    if limit <= 0:
        return True
    uppers = sorted(
        haversine_m(lat, lon, c.latitude, c.longitude) * HAVERSINE_UPPER_BOUND
        for c in found
        if is_usable_position(c.latitude, c.longitude)
    )
    if len(uppers) < limit:
        return False
    kth = uppers[limit - 1]
    return kth <= radius_m and kth < next_lower_m


def measure(lat: float, lon: float, candidate: Candidate) -> NearbyHit:
    """Exact geodesic distance and initial bearing (clockwise from true north, [0, 360))."""
    g = WGS84.Inverse(lat, lon, candidate.latitude, candidate.longitude, _INVERSE_MASK)
    bearing = g["azi1"] % 360.0
    return NearbyHit(
        candidate.entity,
        candidate.id,
        candidate.name,
        candidate.latitude,
        candidate.longitude,
        g["s12"],
        bearing if bearing < 360.0 else 0.0,
    )


def _order_key(hit: NearbyHit) -> tuple[float, str, str]:
    return (hit.distance_m, hit.entity, hit.id)


def rank(
    candidates: Iterable[Candidate],
    lat: float,
    lon: float,
    radius_m: float,
    limit: int | None = None,
) -> list[NearbyHit]:
    """Candidates within the radius, nearest first (ties by entity, id), at most `limit`.

    With a limit, candidates are visited in haversine order and exact
    geodesics stop once no later candidate can beat the k-th hit, so the
    cost stays near `limit` geodesics however many candidates the box held.
    """
    usable = [c for c in candidates if is_usable_position(c.latitude, c.longitude)]
    if limit is None or limit >= len(usable):
        hits = (measure(lat, lon, c) for c in usable)
        return sorted((h for h in hits if h.distance_m <= radius_m), key=_order_key)[
            : None if limit is None else max(0, limit)
        ]
    if limit <= 0:
        return []
    keyed = sorted(
        ((haversine_m(lat, lon, c.latitude, c.longitude), i, c) for i, c in enumerate(usable)),
        key=lambda item: (item[0], item[1]),
    )
    best: list[NearbyHit] = []
    for approx, _, candidate in keyed:
        lower_bound = approx * HAVERSINE_LOWER_BOUND
        if lower_bound > radius_m:
            break
        if len(best) == limit and lower_bound > best[-1].distance_m:
            break
        hit = measure(lat, lon, candidate)
        if hit.distance_m > radius_m:
            continue
        bisect.insort(best, hit, key=_order_key)
        if len(best) > limit:
            best.pop()
    return best


def grow_radii(start_m: float, max_m: float) -> list[float]:
    """Radii for "nearest k": double from `start_m` until `max_m` (always ending there)."""
    radii: list[float] = []
    radius = max(1.0, start_m)
    while radius < max_m:
        radii.append(radius)
        radius *= 2
    radii.append(max_m)
    return radii


def unplaced(candidates: Sequence[Candidate]) -> int:
    return sum(1 for c in candidates if not is_usable_position(c.latitude, c.longitude))
