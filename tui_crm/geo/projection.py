"""Azimuthal equidistant projection around a centre, computed with geographiclib.

Distances and bearings from the centre are exact, so a range ring drawn on
the map is a true circle and "300 m that way" on screen is 300 m on the ground.
"""

from __future__ import annotations

import math

from geographiclib.geodesic import Geodesic

from tui_crm.geo.nearby import normalize_lon

_WGS84 = Geodesic.WGS84
_MASK = Geodesic.DISTANCE | Geodesic.AZIMUTH


def project(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """(east, north) in metres from the centre."""
    g = _WGS84.Inverse(lat0, lon0, lat, lon, _MASK)
    azimuth = math.radians(g["azi1"])
    return g["s12"] * math.sin(azimuth), g["s12"] * math.cos(azimuth)


def unproject(lat0: float, lon0: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point at (east, north) metres from the centre, longitude in [-180, 180)."""
    distance = math.hypot(east_m, north_m)
    if distance == 0:
        return lat0, lon0
    azimuth = math.degrees(math.atan2(east_m, north_m))
    d = _WGS84.Direct(lat0, lon0, azimuth, distance)
    return d["lat2"], normalize_lon(d["lon2"])
