"""`tui-crm demo`: the whole product on one machine, nothing kept afterwards.

Starts the Dataverse emulator on loopback in this process, creates a
throwaway profile in a temporary folder, connects with the emulator's demo
user over the password grant, syncs with a progress bar, then opens the
interface on that profile. The folder and the server vanish on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from tui_crm.cli.context import settings_of
from tui_crm.cli.progress_line import ProgressLine
from tui_crm.config import KdfSettings, Settings
from tui_crm.services.profile import ProfileService
from tui_crm.services.sync import ConnectionOptions

DEMO_PROFILE_PASSWORD = "demo-profile"
DEMO_USER = "demo@example.com"
DEMO_SERVER_PASSWORD = "demo"
DEMO_KDF = KdfSettings(memory_kib=19456, iterations=2, lanes=1)
"""OWASP's floor: a throwaway profile need not cost the 64 MiB default on every unlock."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the emulator, a throwaway synced profile and the interface"
    )
    demo.add_argument("--records", type=int, default=200, metavar="N")
    demo.add_argument("--seed", type=int, default=1, metavar="S")
    demo.add_argument(
        "--no-interface", action="store_true", help="stop after the sync (scripts, tests)"
    )
    demo.set_defaults(handler=demo_command)


async def _prepare(settings: Settings, url: str) -> dict[str, object]:
    service = ProfileService(settings.profile, kdf=DEMO_KDF)
    session = await service.create(DEMO_PROFILE_PASSWORD)
    try:
        session.sync.configure(settings)
        await session.sync.connect(
            "dataverse",
            url,
            ConnectionOptions(auth="password", user=DEMO_USER, password=DEMO_SERVER_PASSWORD),
        )
        progress = ProgressLine()
        try:
            summary = await session.sync.sync(progress=progress)
        finally:
            progress.close()
    finally:
        await session.close()
    return summary


def demo_command(args: argparse.Namespace) -> int:
    from tui_crm.emulator.dataverse.emulator import DataverseEmulator

    folder = Path(tempfile.mkdtemp(prefix="tui-crm-demo-"))
    emulator = DataverseEmulator(records=args.records, seed=args.seed)
    try:
        url = emulator.start()
        settings = settings_of(args).model_copy(
            update={"profile": folder / "profile", "kdf": DEMO_KDF}
        )
        summary = asyncio.run(_prepare(settings, url))
        sys.stderr.write(
            f"demo: {summary['pulled']} records synced from {url}; "
            f"profile password: {DEMO_PROFILE_PASSWORD}\n"
        )
        if args.no_interface:
            return 0
        from tui_crm.ui.app import run_app

        return run_app(settings, unlock_hint=f"Demo profile password: {DEMO_PROFILE_PASSWORD}")
    finally:
        emulator.stop()
        shutil.rmtree(folder, ignore_errors=True)
