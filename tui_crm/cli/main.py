"""The `tui-crm` entry point: global options, the command tree, dispatch and exit codes.

Exit codes are a contract (CLI.md): 0 done, 1 failed, 2 usage, 3 wrong
password or locked out. Expected failures are `DomainError`s and reach the
user as one line; a traceback is shown only for real bugs, and only when
TUI_CRM_DEBUG is set, because exception text may carry data we must not print.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from tui_crm import __version__
from tui_crm.domain.errors import DomainError, WrongPassword

PROG = "tui-crm"

COMMAND_MODULES: tuple[str, ...] = (
    "tui_crm.cli.profile_cmds",
    "tui_crm.cli.records_cmds",
    "tui_crm.cli.sync_cmds",
    "tui_crm.cli.geo_cmds",
    "tui_crm.cli.emulator_cmd",
    "tui_crm.cli.demo",
)
"""Each module exposes `register(subparsers) -> None` and sets `handler` on its parsers."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], Any]


def _load_command_module(name: str) -> ModuleType | None:
    """Import a command module, or None if it is not in this build yet.

    Only the absence of the module itself is tolerated: a module that exists
    but fails on its own imports is a bug and must say so.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None
        raise


def requested_command(argv: Sequence[str] | None) -> str | None:
    """The subcommand named on the command line, if one is, found without importing any.

    Lets main import only the modules up to the one that owns it: every command
    module costs start-up time (HTTP clients, the emulator's server), and a
    `records create` in a cron loop should not pay for all of them.
    """
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    pre.add_argument("--profile")
    pre.add_argument("--password-stdin", action="store_true")
    try:
        _, rest = pre.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    except argparse.ArgumentError:
        return None
    if not rest or rest[0].startswith("-"):
        return None
    return rest[0]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full tree, or (given `command`) the tree up to the module that registers it."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Offline-first, encrypted terminal CRM client. Without a command it opens "
            "the interface; every command is its headless twin."
        ),
        epilog="exit codes: 0 done, 1 failed, 2 usage error, 3 wrong password or locked out",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        default=None,
        help="profile folder (database, key file, logs); env TUI_CRM_PROFILE",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the profile password from the first line of standard input",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMAND_MODULES:
        _register_commands(name, subparsers)
        if command is not None and command in subparsers.choices:
            break
    return parser


def _register_commands(
    name: str, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
) -> None:
    """A broken module costs its own commands, said in one line, not the whole CLI.

    The user keeps `records`, `check` and `wipe` when, say, the sync module's
    dependency is missing; TUI_CRM_DEBUG shows the traceback to developers.
    """
    try:
        module = _load_command_module(name)
        if module is not None:
            module.register(subparsers)
    except Exception as error:
        if os.environ.get("TUI_CRM_DEBUG"):
            raise
        _report(f"warning: commands of {name} unavailable ({type(error).__name__}: {error})")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _run_handler(handler: Handler, args: argparse.Namespace) -> int:
    """Run a handler; an async one on a fresh event loop.

    asyncio.run would otherwise replace Ctrl-C with a task cancellation that a
    blocking read (the password line) never sees; our own handler raises
    KeyboardInterrupt at once, and asyncio leaves a non-default handler alone.
    """
    previous = signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        result = handler(args)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_OK if result is None else int(result)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _run_interface(args: argparse.Namespace) -> int:
    """No subcommand: the Textual interface, imported only now to keep commands quick."""
    from tui_crm.cli.context import settings_of

    try:
        from tui_crm.ui.app import run_app
    except ModuleNotFoundError as error:
        if error.name not in ("tui_crm.ui.app", "tui_crm.ui"):
            raise
        raise DomainError("the interface is not part of this build") from None
    return run_app(settings_of(args))


def _attach_context(args: argparse.Namespace) -> None:
    """Load the settings (with --profile over env over file) and the password reader."""
    from pydantic import ValidationError

    from tui_crm.cli.password import PasswordReader
    from tui_crm.config import load_settings

    overrides: dict[str, Any] = {}
    if args.profile is not None:
        overrides["profile"] = args.profile
    try:
        args.settings = load_settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "settings"
        raise DomainError(f"configuration error: {where}: {first.get('msg', 'invalid')}") from None
    except (OSError, ValueError) as error:
        raise DomainError(f"configuration error: {type(error).__name__}: {error}") from None
    args.passwords = PasswordReader(from_stdin=args.password_stdin)


def _describe(error: DomainError) -> str:
    """The error's one line; a wrong password also says when the next try is allowed."""
    message = (str(error).splitlines() or [type(error).__name__])[0]
    retry_after = getattr(error, "retry_after", 0.0)
    if isinstance(error, WrongPassword) and retry_after > 0:
        message += f"; next attempt allowed in {math.ceil(retry_after)} s"
    return message


def _report(message: str) -> None:
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()


def _silence_stdout() -> None:
    """After a closed pipe (`| head`), further writes and the final flush must not raise."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    command = requested_command(argv)
    if command is None:
        # The interface: keys typed while it starts must not echo (see typeahead).
        from tui_crm.cli.typeahead import quiet_typeahead

        with quiet_typeahead():
            return _main(argv, command)
    return _main(argv, command)


def _main(argv: Sequence[str] | None, command: str | None) -> int:
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv)
        _attach_context(args)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            if args.command is not None:
                parser.error(f"{args.command}: give a subcommand (see '{PROG} {args.command} -h')")
            return _run_interface(args)
        return _run_handler(handler, args)
    except DomainError as error:
        _report(_describe(error))
        return error.exit_code
    except KeyboardInterrupt:
        _report("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILED
    except Exception as error:
        if os.environ.get("TUI_CRM_DEBUG"):
            raise
        _report(
            f"internal error ({type(error).__name__}); run with TUI_CRM_DEBUG=1 to see the details"
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
