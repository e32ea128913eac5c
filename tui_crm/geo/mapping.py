"""Glue between search results and the map: markers, labels, and a scale that fits a radius."""

from __future__ import annotations

import string
from collections.abc import Sequence

from tui_crm.geo.nearby import NearbyHit
from tui_crm.geo.render import MapPin

MARKERS = string.digits[1:] + string.ascii_lowercase
"""List position -> pin glyph: 1-9 then a-z; later rows share `*`."""
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def marker_for(index: int) -> str:
    return MARKERS[index] if 0 <= index < len(MARKERS) else "*"


def hit_key(hit: NearbyHit) -> str:
    return f"{hit.entity}:{hit.id}"


def pins_for_hits(hits: Sequence[NearbyHit], highlighted: str | None = None) -> list[MapPin]:
    """Pins in list order, so the list's row numbers are the glyphs on the map."""
    return [
        MapPin(
            key=hit_key(hit),
            lat=hit.latitude,
            lon=hit.longitude,
            marker=marker_for(index),
            label=hit.name,
            rank=index,
            highlighted=hit_key(hit) == highlighted,
        )
        for index, hit in enumerate(hits)
    ]


def fit_scale(radius_m: float, width: int, height: int, cell_aspect: float = 2.0) -> float:
    """Metres per cell so a circle of `radius_m` fits the map, with a cell to spare."""
    half_cells = max(1.0, min((width - 2) / 2, (height - 2) * cell_aspect / 2))
    return max(radius_m, 1.0) / half_cells


def compass_point(bearing_deg: float) -> str:
    return COMPASS[round(bearing_deg % 360 / 45) % 8]
