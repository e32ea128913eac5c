"""`nearby` and `map`: the records around a point, as a list or as the text map.

Both refuse before asking for a password when Map is off, so a device with
Map off never unlocks, never opens a location source and never stores a
position for them. Without --lat/--lon the configured location source is
started for as long as the command needs a position, then stopped.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import TYPE_CHECKING

from tui_crm.cli.context import UsageError, settings_of, unlocked_session
from tui_crm.cli.output import clean, print_json, print_lines, render_table, terminal_width
from tui_crm.domain.errors import FeatureOff
from tui_crm.services.nearby import (
    MAP_MODES,
    MAP_OFF_MESSAGE,
    DeviceMarker,
    Fix,
    LocationState,
    MapView,
    NearbyResult,
    compass_point,
    fit_scale,
    format_distance,
    parse_distance,
    pins_for_hits,
)

if TYPE_CHECKING:
    from tui_crm.services.session import Session

DEFAULT_RADIUS = "5km"
DEFAULT_LIMIT = 50
MAP_PIN_LIMIT = 500
DEFAULT_WAIT_S = 15.0


def _latitude(text: str) -> float:
    return _coordinate(text, 90.0, "latitude")


def _longitude(text: str) -> float:
    return _coordinate(text, 180.0, "longitude")


def _coordinate(text: str, limit: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text!r}") from None
    if not -limit <= value <= limit:
        raise argparse.ArgumentTypeError(f"{what} must be between {-limit:g} and {limit:g}")
    return value


def _radius(text: str) -> float:
    try:
        return parse_distance(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_position_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lat", type=_latitude, metavar="LAT", help="latitude of the centre")
    parser.add_argument("--lon", type=_longitude, metavar="LON", help="longitude of the centre")
    parser.add_argument(
        "--radius",
        type=_radius,
        default=_radius(DEFAULT_RADIUS),
        metavar="R",
        help=f"search radius, e.g. 500m, 5km, 3mi (default {DEFAULT_RADIUS})",
    )
    parser.add_argument(
        "--entity", action="append", metavar="E", help="only this entity (repeatable)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help=f"wait this long for a first fix (default {DEFAULT_WAIT_S:g})",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nearby = subparsers.add_parser(
        "nearby", help="records near a point or the device, nearest first"
    )
    _add_position_options(nearby)
    nearby.add_argument(
        "--limit",
        type=_positive_int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N records (default {DEFAULT_LIMIT})",
    )
    nearby.add_argument("--json", action="store_true", help="print a JSON list, nearest first")
    nearby.set_defaults(handler=nearby_command)

    map_parser = subparsers.add_parser("map", help="print the text map of the records around")
    _add_position_options(map_parser)
    map_parser.add_argument("--width", type=_positive_int, metavar="W", help="columns")
    map_parser.add_argument("--height", type=_positive_int, metavar="H", help="rows")
    map_parser.add_argument("--mode", choices=MAP_MODES, help="glyphs (default: map_mode)")
    map_parser.set_defaults(handler=map_command)


def _require_map(args: argparse.Namespace) -> None:
    if (args.lat is None) != (args.lon is None):
        raise UsageError("give both --lat and --lon, or neither to use the location source")
    if not settings_of(args).map_enabled:
        raise FeatureOff(MAP_OFF_MESSAGE)


async def _centre(session: Session, args: argparse.Namespace) -> tuple[float, float, Fix | None]:
    """The given point, or the location source's position (warning when it is old)."""
    if args.lat is not None and args.lon is not None:
        return args.lat, args.lon, None
    fix: Fix = await session.nearby.current_fix(wait_s=max(0.0, args.wait))
    status = session.nearby.status()
    if status.state != LocationState.FIX and status.age_s is not None:
        sys.stderr.write(
            f"tui-crm: warning: position is {status.state.value}, {status.age_s:.0f} s old\n"
        )
    return fix.lat, fix.lon, fix


async def nearby_command(args: argparse.Namespace) -> int:
    _require_map(args)
    settings = settings_of(args)
    async with unlocked_session(args) as session:
        session.nearby.configure(settings)
        try:
            lat, lon, _ = await _centre(session, args)
            result: NearbyResult = await session.nearby.nearby(
                lat, lon, args.radius, args.entity, limit=args.limit
            )
            unplaced = 0 if args.json else await session.nearby.unplaced(args.entity)
        finally:
            await session.nearby.stop()
    if args.json:
        print_json([hit.to_json() for hit in result.hits])
        return 0
    rows = [
        [
            format_distance(hit.distance_m),
            f"{compass_point(hit.bearing_deg):>2} {hit.bearing_deg:3.0f}°",
            hit.entity,
            hit.name,
        ]
        for hit in result.hits
    ]
    if rows:
        print_lines(
            render_table(
                ["DISTANCE", "BEARING", "ENTITY", "NAME"],
                rows,
                width=terminal_width(),
                fixed=[True, True, True, False],
            )
        )
    sys.stderr.write(
        f"{len(rows)} within {format_distance(args.radius)}"
        + (f"; {unplaced} without a usable position left out" if unplaced else "")
        + "\n"
    )
    return 0


async def map_command(args: argparse.Namespace) -> int:
    _require_map(args)
    settings = settings_of(args)
    size = shutil.get_terminal_size((80, 24))
    width = args.width or size.columns
    height = args.height or max(3, size.lines - 2)
    mode = args.mode or settings.map_mode
    async with unlocked_session(args) as session:
        session.nearby.configure(settings)
        try:
            lat, lon, fix = await _centre(session, args)
            result = await session.nearby.nearby(
                lat, lon, args.radius, args.entity, limit=MAP_PIN_LIMIT
            )
            stale = session.nearby.status().state != LocationState.FIX
            device = DeviceMarker(
                lat, lon, fix.accuracy_m if fix else None, stale=fix is not None and stale
            )
            view = MapView(
                lat,
                lon,
                fit_scale(args.radius, width, height),
                width,
                height,
                mode,
                range_ring_m=args.radius,
            )
            rendered = await session.nearby.render(view, pins_for_hits(result.hits), device)
        finally:
            await session.nearby.stop()
    print_lines(clean(line) for line in rendered.lines)
    sys.stderr.write(
        f"{len(result.hits)} within {format_distance(args.radius)}; "
        f"{rendered.dropped_labels} labels dropped, {rendered.off_map} off the map\n"
    )
    return 0
