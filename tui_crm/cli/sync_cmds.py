"""`connect`, `sync` and `conflicts`: the headless twins of the sync screens.

Progress goes to stderr so `sync --json` keeps stdout to one JSON document
for scripts and cron.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from tui_crm.cli.context import UsageError, passwords_of, settings_of, unlocked_session
from tui_crm.cli.output import print_json, print_lines
from tui_crm.cli.progress_line import ProgressLine
from tui_crm.domain.conflicts import Conflict
from tui_crm.services.sync import ConnectionOptions, DeviceCodePrompt, SyncService


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = subparsers.add_parser("connect", help="bind the profile to a CRM server")
    connect.add_argument("backend", choices=("dataverse", "salesforce", "resco"))
    connect.add_argument("--url", required=True, help="the environment's address")
    connect.add_argument(
        "--auth", choices=("device", "password", "client-credentials"), default="device"
    )
    connect.add_argument("--user", metavar="U")
    connect.add_argument("--client-id", metavar="ID")
    connect.add_argument("--tenant", metavar="T")
    connect.add_argument("--authority", metavar="URL")
    save = connect.add_mutually_exclusive_group()
    save.add_argument("--save-password", dest="save_password", action="store_true")
    save.add_argument("--no-save-password", dest="save_password", action="store_false")
    connect.set_defaults(save_password=False, handler=connect_command)

    sync = subparsers.add_parser("sync", help="synchronise with the server")
    sync.add_argument("--entity", action="append", metavar="E", default=[])
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")
    sync.set_defaults(handler=sync_command)

    conflicts = subparsers.add_parser("conflicts", help="conflicts kept by the last syncs")
    conflicts.add_argument("--json", action="store_true")
    conflicts.add_argument("--open", action="store_true", help="only unresolved ones")
    conflicts.set_defaults(handler=conflicts_command)
    actions = conflicts.add_subparsers(dest="conflicts_action", metavar="ACTION")
    resolve = actions.add_parser("resolve", help="resolve one conflict")
    resolve.add_argument("id", type=int, metavar="ID")
    resolve.add_argument("--take", choices=("server", "device"), required=True)
    resolve.set_defaults(handler=resolve_command)


def _service(session: Any, args: argparse.Namespace) -> SyncService:
    existing = getattr(session, "sync", None)
    if isinstance(existing, SyncService):
        existing.configure(settings_of(args))
        return existing
    return SyncService(session, settings_of(args))


def _show_device_code(prompt: DeviceCodePrompt) -> None:
    sys.stderr.write(
        f"To sign in, open {prompt.verification_uri} and enter the code {prompt.user_code}\n"
    )
    sys.stderr.flush()


async def connect_command(args: argparse.Namespace) -> int:
    if args.backend != "dataverse":
        raise UsageError(f"backend {args.backend} is not available in this build yet")
    passwords = passwords_of(args)
    async with unlocked_session(args) as session:
        server_password = None
        secret = None
        if args.auth == "password":
            if not args.user:
                raise UsageError("--auth password needs --user")
            server_password = passwords.read("Server password: ")
        elif args.auth == "client-credentials":
            if not args.client_id:
                raise UsageError("--auth client-credentials needs --client-id")
            secret = passwords.read("Client secret: ")
        options = ConnectionOptions(
            auth=args.auth,
            user=args.user,
            password=server_password,
            client_id=args.client_id,
            client_secret=secret,
            tenant=args.tenant,
            authority=args.authority,
            save_password=args.save_password,
        )
        report = await _service(session, args).connect(
            args.backend, args.url, options, on_device_code=_show_device_code
        )
    print_lines(
        [f"connected to {report.url} ({report.backend}); tables: {', '.join(report.entities)}"]
    )
    return 0


async def sync_command(args: argparse.Namespace) -> int:
    progress = ProgressLine()
    async with unlocked_session(args) as session:
        try:
            summary = await _service(session, args).sync(args.entity or None, progress)
        finally:
            progress.close()
    if args.json:
        print_json(summary)
    else:
        print_lines(
            [
                f"pulled {summary['pulled']}, pushed {summary['pushed']}, "
                f"deleted {summary['deleted']}, conflicts {summary['conflicts']}, "
                f"errors {summary['errors']}",
                f"{summary['requests']} requests, {summary['bytes_received']} bytes in, "
                f"{summary['bytes_sent']} bytes out, {summary['seconds']} s",
            ]
        )
    refused = int(summary["errors"])
    if refused:
        # Exit 1 needs its one line on stderr: the summary alone would hide which part failed.
        changes = "change" if refused == 1 else "changes"
        sys.stderr.write(
            f"tui-crm: {refused} {changes} refused by the server, kept on the device: "
            "see 'tui-crm outbox'\n"
        )
        sys.stderr.flush()
        return 1
    return 0


def _conflict_json(conflict: Conflict) -> dict[str, Any]:
    return dataclasses.asdict(conflict)


async def conflicts_command(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        conflicts = await _service(session, args).conflicts(open_only=args.open)
    if args.json:
        print_json([_conflict_json(c) for c in conflicts])
        return 0
    if not conflicts:
        print_lines(["no conflicts"])
        return 0
    print_lines(
        [
            f"{c.id:>5}  {c.entity:<12} {c.record_id}  {c.kind:<14} {c.resolution or 'open'}"
            for c in conflicts
        ]
    )
    return 0


async def resolve_command(args: argparse.Namespace) -> int:
    async with unlocked_session(args) as session:
        conflict = await _service(session, args).resolve(args.id, args.take)
    print_lines(
        [f"conflict {conflict.id} resolved: {conflict.resolution}; run 'tui-crm sync' to send it"]
    )
    return 0
