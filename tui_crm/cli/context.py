"""What every command handler needs besides its own arguments.

Handlers (ours and those of the sync, geo, emulator and demo modules) get only
the argparse namespace, `handler(args) -> int` or `async handler(args) -> int`;
main.py attaches the loaded settings and one shared password reader to it
before dispatching, and these helpers read them back with types.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tui_crm.cli.password import PasswordReader
from tui_crm.config import Settings
from tui_crm.domain.errors import DomainError, ProfileMissing

if TYPE_CHECKING:
    from tui_crm.services.profile import ProfileService
    from tui_crm.services.session import Session


class UsageError(DomainError):
    """The command line asks for something impossible; exit 2 like argparse's own errors."""

    exit_code = 2


def settings_of(args: argparse.Namespace) -> Settings:
    settings = getattr(args, "settings", None)
    if not isinstance(settings, Settings):
        raise RuntimeError("main.py did not attach the settings to the arguments")
    return settings


def profile_dir_of(args: argparse.Namespace) -> Path:
    return settings_of(args).profile


def passwords_of(args: argparse.Namespace) -> PasswordReader:
    reader = getattr(args, "passwords", None)
    if not isinstance(reader, PasswordReader):
        raise RuntimeError("main.py did not attach the password reader to the arguments")
    return reader


def profile_service(args: argparse.Namespace) -> ProfileService:
    """Imported here, not at the top: `--help`, `--version` and the emulator need no store."""
    from tui_crm.services.profile import ProfileService

    settings = settings_of(args)
    return ProfileService(settings.profile, kdf=settings.kdf)


def missing_profile(profile_dir: Path) -> ProfileMissing:
    return ProfileMissing(f"no profile at {profile_dir}: create one with 'tui-crm init'")


@asynccontextmanager
async def unlocked_session(args: argparse.Namespace) -> AsyncIterator[Session]:
    """Unlock the profile (asking for its password) and always drop the key afterwards."""
    service = profile_service(args)
    if not service.exists():
        raise missing_profile(profile_dir_of(args))
    password = passwords_of(args).read("Profile password: ")
    session = await service.unlock(password)
    try:
        # Every command uses the settings it was started with; with Map off this
        # also erases a position kept from an earlier run (any command, not only nearby).
        session.nearby.configure(settings_of(args))
        yield session
    finally:
        await session.close()
