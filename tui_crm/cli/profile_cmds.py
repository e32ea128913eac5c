"""`init`, `passwd`, `check` and `wipe`: the life of the encrypted profile from a shell."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from tui_crm.cli.context import (
    UsageError,
    missing_profile,
    passwords_of,
    profile_dir_of,
    profile_service,
    unlocked_session,
)
from tui_crm.cli.output import print_json, print_lines, render_pairs
from tui_crm.domain.errors import ProfileExists


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = subparsers.add_parser(
        "init",
        help="create an encrypted profile",
        description=(
            "Create an encrypted profile. It holds the built-in standard schema "
            "(account, contact, lead, ...) until a backend is connected."
        ),
    )
    init.add_argument(
        "--offline",
        action="store_true",
        help="a profile for offline use only, with the built-in standard schema",
    )
    init.set_defaults(handler=init_profile)

    passwd = subparsers.add_parser(
        "passwd",
        help="change the profile password",
        description="Change the password (with --password-stdin: line 1 old, line 2 new).",
    )
    passwd.set_defaults(handler=change_password)

    check = subparsers.add_parser(
        "check",
        help="verify key file, database integrity and schema; report counts",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=check_profile)

    wipe = subparsers.add_parser(
        "wipe",
        help="delete the profile and everything it holds",
        description="Delete the profile folder's database, key file and logs. No undo.",
    )
    wipe.add_argument("--yes", action="store_true", help="confirm: delete everything")
    wipe.set_defaults(handler=wipe_profile)


async def init_profile(args: argparse.Namespace) -> int:
    service = profile_service(args)
    profile_dir = profile_dir_of(args)
    if service.exists():
        raise ProfileExists(f"a profile already exists at {profile_dir}")
    password = passwords_of(args).read_new("New profile password: ", "Repeat the password: ")
    session = await service.create(password, offline=True)
    await session.close()
    print_lines([f"created encrypted profile at {profile_dir}"])
    return 0


async def change_password(args: argparse.Namespace) -> int:
    service = profile_service(args)
    if not service.exists():
        raise missing_profile(profile_dir_of(args))
    reader = passwords_of(args)
    old = reader.read("Current password: ")
    new = reader.read_new("New password: ", "Repeat the new password: ")
    await service.change_password(old, new)
    print_lines(["password changed"])
    return 0


async def check_profile(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        report = await session.check()
    document = _as_document(report)
    if args.json:
        print_json(document)
    else:
        print_lines(render_pairs(list(_flatten(document))))
    if document.get("ok", True):
        return 0
    problems = document.get("problems") or ["see the report above"]
    sys.stderr.write(f"tui-crm: profile damaged: {problems[0]}\n")
    return 1


async def wipe_profile(args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError("wipe deletes every record and key: confirm with --yes")
    service = profile_service(args)
    profile_dir = profile_dir_of(args)
    if not service.exists():
        raise missing_profile(profile_dir)
    await service.wipe()
    print_lines([f"wiped the profile at {profile_dir}"])
    return 0


def _as_document(report: Any) -> dict[str, Any]:
    to_json = getattr(report, "to_json", None)
    if callable(to_json):
        document = to_json()
        if isinstance(document, dict):
            return document
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return dataclasses.asdict(report)
    if isinstance(report, dict):
        return dict(report)
    raise TypeError(f"unexpected check report type {type(report).__name__}")


def _flatten(document: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested report parts (counts per entity) as `counts.account  12` lines."""
    pairs: list[tuple[str, str]] = []
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            pairs.extend(_flatten(value, prefix=f"{name}."))
        elif isinstance(value, bool):
            pairs.append((name, "yes" if value else "no"))
        elif isinstance(value, list | tuple):
            pairs.append((name, ", ".join(str(item) for item in value) or "-"))
        else:
            pairs.append((name, "-" if value is None else str(value)))
    return pairs
