"""Distances as people type them: `500m`, `5km`, `3mi`, `2.5 km`, or plain metres."""

from __future__ import annotations

import math
import re

_UNITS = {"": 1.0, "m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$")


def parse_distance(text: str) -> float:
    """Metres; raises ValueError with a message fit for the user."""
    match = _PATTERN.match(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"not a distance: {text!r} (use e.g. 500m, 5km, 3mi)")
    metres = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(metres):
        raise ValueError(f"not a distance: {text!r}")
    return metres
