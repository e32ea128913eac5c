"""`tui-crm emulator dataverse`: serve the Dataverse emulator in the foreground.

The base URL is the first line on stdout (scripts and tests read it to find a
port-0 server); sign-in details go to stderr. Only loopback hosts are served:
the emulator accepts a well-known password and must not be reachable.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui_crm.domain.errors import DomainError


class EmulatorRefused(DomainError):
    exit_code = 2


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a share between 0 and 1")
    return value


def _centre(text: str) -> tuple[float, float]:
    try:
        latitude, longitude = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("LAT,LON in degrees") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise argparse.ArgumentTypeError("latitude within ±90, longitude within ±180")
    return latitude, longitude


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("zero or more")
    return value


def register(subparsers: Any) -> None:
    emulator = subparsers.add_parser(
        "emulator", help="serve a local emulator of a CRM backend (loopback only)"
    )
    backends = emulator.add_subparsers(dest="backend", metavar="BACKEND", title="backends")
    dataverse = backends.add_parser(
        "dataverse",
        help="Microsoft Dataverse Web API v9.2 with Microsoft identity sign-in",
        description="Serves until interrupted; prints the base URL on the first stdout line.",
    )
    dataverse.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    dataverse.add_argument("--port", type=_non_negative, default=0, help="0 picks a free port")
    dataverse.add_argument(
        "--records", type=_non_negative, default=100, help="accounts and contacts to seed (each)"
    )
    dataverse.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    dataverse.add_argument(
        "--centre",
        type=_centre,
        default=(48.1486, 17.1077),
        metavar="LAT,LON",
        help="centre of the seeded positions",
    )
    dataverse.add_argument(
        "--fault-rate",
        type=_share,
        default=0.0,
        help="share of Web API requests answered with a fault",
    )
    dataverse.add_argument("--fault-seed", type=int, default=0)
    dataverse.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every Web API request"
    )
    dataverse.add_argument(
        "--stall-seconds",
        type=float,
        default=None,
        help="how long a 'stall' fault holds the response (default 1.5x the client's timeout: "
        "45 s for 30 s)",
    )
    dataverse.add_argument("--user", default="demo@example.com", help="sign-in user name")
    dataverse.add_argument("--password", default="demo", help="sign-in password")
    dataverse.add_argument(
        "--client-secret", default="demo-secret", help="secret for the client-credentials grant"
    )
    dataverse.add_argument(
        "--token-lifetime", type=int, default=3599, help="access token lifetime in seconds"
    )
    dataverse.add_argument(
        "--device-code-interval",
        type=_non_negative,
        default=5,
        help="polling interval the device code flow asks for",
    )
    dataverse.add_argument(
        "--auto-approve",
        action="store_true",
        help="device codes are approved as soon as they are issued",
    )
    dataverse.add_argument(
        "--rate-limit", type=int, default=6000, help="requests per user per window before 429"
    )
    dataverse.add_argument(
        "--rate-window", type=float, default=300.0, help="window of the request budget, seconds"
    )
    dataverse.set_defaults(handler=run_dataverse)
    emulator.set_defaults(handler=lambda args: _no_backend(emulator))


def _no_backend(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    sys.stderr.write("tui-crm emulator: give a backend (dataverse)\n")
    return 2


def run_dataverse(args: argparse.Namespace) -> int:
    from tui_crm.emulator.dataverse.emulator import DataverseEmulator
    from tui_crm.emulator.server import is_loopback, serve_forever

    if not is_loopback(args.host):
        raise EmulatorRefused(f"emulator: {args.host} is not a loopback address; refusing to serve")
    from tui_crm.emulator.dataverse.faults import STALL_SECONDS

    latitude, longitude = args.centre
    emulator = DataverseEmulator(
        host=args.host,
        port=args.port,
        records=args.records,
        seed=args.seed,
        centre_latitude=latitude,
        centre_longitude=longitude,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        latency_ms=args.latency_ms,
        stall_seconds=STALL_SECONDS if args.stall_seconds is None else args.stall_seconds,
        username=args.user,
        password=args.password,
        client_secret=args.client_secret,
        token_lifetime=args.token_lifetime,
        device_code_interval=args.device_code_interval,
        auto_approve=args.auto_approve,
        rate_limit=args.rate_limit,
        rate_window_seconds=args.rate_window,
    )

    def ready(url: str) -> None:
        emulator.url = url
        sys.stdout.write(url + "\n")
        sys.stdout.flush()
        sys.stderr.write(
            f"Dataverse emulator: Web API {url}/api/data/v9.2/, authority {url}/organizations, "
            f"user {args.user}; device codes are approved at {url}/devicelogin. "
            "Ctrl-C stops it.\n"
        )
        sys.stderr.flush()

    try:
        serve_forever(emulator.app(), args.host, args.port, ready)
    except OSError as error:
        raise DomainError(
            f"emulator: cannot serve on {args.host}:{args.port}: {error.strerror}"
        ) from None
    return 0
