"""NMEA 0183 GGA and RMC sentences from a serial receiver or a log file.

Only what a position needs is parsed. A sentence whose checksum is missing or
wrong is dropped (serial lines garble bytes), and a sentence that says it has
no fix (GGA quality 0, RMC status V or mode N) is reported as no-fix so the
source can show "searching" instead of an old position as if it were new.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

UERE_M = 5.0
"""Rough user-equivalent range error; accuracy ≈ HDOP * UERE (a relative indicator only)."""

DEGRADED_GGA_QUALITY = 6
MAX_SENTENCE_LENGTH = 120
"""NMEA allows 82 characters; some receivers exceed it a little. Longer is garbage."""


@dataclass(frozen=True, slots=True)
class NmeaReport:
    """One GGA or RMC sentence: `has_fix` False means the receiver said "no fix"."""

    kind: str
    has_fix: bool
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    satellites: int | None = None
    degraded: bool = False
    three_d: bool = False


def checksum(body: str) -> str:
    """XOR of every character between `$` and `*`, as two upper-case hex digits."""
    return f"{reduce(lambda acc, ch: acc ^ ord(ch), body, 0):02X}"


def sentence(body: str) -> str:
    """Frame a sentence body (`GPGGA,...`) with `$`, checksum and CRLF."""
    return f"${body}*{checksum(body)}\r\n"


def _split_verified(line: str) -> list[str] | None:
    text = line.strip()
    if not text.startswith("$") or len(text) > MAX_SENTENCE_LENGTH:
        return None
    star = text.rfind("*")
    if star < 0 or len(text) != star + 3:
        return None
    body, given = text[1:star], text[star + 1 :].upper()
    if not body.isascii() or not body.isprintable() or given != checksum(body):
        return None
    return body.split(",")


def _coordinate(value: str, hemisphere: str, degree_digits: int) -> float | None:
    """`ddmm.mmmm` / `dddmm.mmmm` plus N/S/E/W to signed decimal degrees."""
    limit = 90.0 if degree_digits == 2 else 180.0
    positive, negative = ("N", "S") if degree_digits == 2 else ("E", "W")
    if hemisphere not in (positive, negative) or len(value) < degree_digits + 2:
        return None
    degrees_text, minutes_text = value[:degree_digits], value[degree_digits:]
    whole_minutes, _, fraction = minutes_text.partition(".")
    if not degrees_text.isdigit() or len(whole_minutes) != 2 or not whole_minutes.isdigit():
        return None
    if fraction and not fraction.isdigit():
        return None
    try:
        minutes = float(minutes_text)
    except ValueError:
        return None
    if not math.isfinite(minutes) or not 0.0 <= minutes < 60.0:
        return None
    degrees = int(degrees_text) + minutes / 60.0
    if degrees > limit:
        return None
    return -degrees if hemisphere == negative else degrees


def _optional_float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _gga(fields: list[str]) -> NmeaReport | None:
    if len(fields) < 10:
        return None
    if not fields[6].isdigit():
        return None
    quality = int(fields[6])
    if quality == 0:
        return NmeaReport("GGA", has_fix=False)
    lat = _coordinate(fields[2], fields[3], 2)
    lon = _coordinate(fields[4], fields[5], 3)
    if lat is None or lon is None:
        return None
    hdop = _optional_float(fields[8])
    satellites = int(fields[7]) if fields[7].isdigit() else None
    return NmeaReport(
        "GGA",
        has_fix=True,
        lat=lat,
        lon=lon,
        accuracy_m=None if hdop is None else hdop * UERE_M,
        satellites=satellites,
        degraded=quality == DEGRADED_GGA_QUALITY,
        three_d=fields[9] != "",
    )


def _rmc(fields: list[str]) -> NmeaReport | None:
    if len(fields) < 10:
        return None
    status = fields[2]
    mode = fields[12] if len(fields) > 12 else ""
    if status not in ("A", "V"):
        return None
    if status == "V" or mode == "N":
        return NmeaReport("RMC", has_fix=False)
    lat = _coordinate(fields[3], fields[4], 2)
    lon = _coordinate(fields[5], fields[6], 3)
    if lat is None or lon is None:
        return None
    return NmeaReport("RMC", has_fix=True, lat=lat, lon=lon, degraded=mode == "E")


def parse_sentence(line: str) -> NmeaReport | None:
    """A GGA/RMC report, or None for anything else (other sentences, bad checksum, garbage).

    Talkers vary (GP, GN, GL, GA, ...), so only the last three letters of the
    address are matched.
    """
    fields = _split_verified(line)
    if not fields or len(fields[0]) != 5:
        return None
    kind = fields[0][2:]
    if kind == "GGA":
        return _gga(fields)
    if kind == "RMC":
        return _rmc(fields)
    return None
