"""The entry point: global options, command discovery, usage errors and exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest
from cli_harness import PASSWORD, Cli, assert_one_line_failure

from tui_crm import __version__
from tui_crm.cli import main as cli_main


def test_version(cli: Cli) -> None:
    result = cli.run("--version", password=None)
    assert result.returncode == 0
    assert result.stdout.strip() == f"tui-crm {__version__}"


def test_help_lists_every_command_of_this_issue(cli: Cli) -> None:
    result = cli.run("--help", password=None)
    assert result.returncode == 0
    for command in ("init", "passwd", "check", "wipe", "records", "outbox"):
        assert f"    {command}" in result.stdout
    assert "--password-stdin" in result.stdout and "--profile" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["records"],
        ["records", "list"],
        ["records", "list", "account", "--limit", "0"],
        ["records", "list", "account", "--limit", "many"],
        ["records", "export", "account", "--format", "xml"],
        ["records", "import", "account"],
        ["check", "--bogus"],
    ],
)
def test_usage_errors_exit_2_without_traceback(cli: Cli, args: list[str]) -> None:
    result = cli.run(*args, password=None)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "usage:" in result.stderr


def test_wipe_without_yes_is_a_usage_error_and_deletes_nothing(ready: Cli) -> None:
    before = sorted(p.name for p in ready.profile.iterdir())
    result = ready.run("wipe", password=None)
    assert_one_line_failure(result, 2, "--yes")
    assert sorted(p.name for p in ready.profile.iterdir()) == before


def test_update_without_set_is_a_usage_error(ready: Cli) -> None:
    result = ready.run("records", "update", "account", "0f8fad5b-d9cb-469f-a165-70867728950e")
    assert_one_line_failure(result, 2, "--set")


def test_malformed_set_is_a_usage_error(ready: Cli) -> None:
    result = ready.run("records", "create", "account", "--set", "name")
    assert_one_line_failure(result, 2, "FIELD=VALUE")


def test_invalid_config_file_is_one_line(cli: Cli) -> None:
    (cli.config_dir / "config.toml").write_text("kdf = [unclosed\n", encoding="utf-8")
    result = cli.run("check", password=None)
    assert_one_line_failure(result, 1, "configuration error")


def test_invalid_setting_in_environment_is_one_line(cli: Cli) -> None:
    cli.env["TUI_CRM_KDF__MEMORY_KIB"] = "64"
    result = cli.run("init", "--offline")
    assert_one_line_failure(result, 1, "configuration error", "kdf.memory_kib")
    assert not (cli.profile / "profile.key").exists()


def test_profile_from_environment(cli: Cli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "from-env"
    cli.env["TUI_CRM_PROFILE"] = str(elsewhere)
    command = [c for c in cli.command("init", "--offline") if c not in ("--profile",)]
    command.remove(str(cli.profile))
    completed = subprocess.run(
        command, input=f"{PASSWORD}\n".encode(), capture_output=True, env=cli.env, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert (elsewhere / "profile.key").exists()
    assert not cli.profile.exists()


def test_sigint_while_waiting_for_the_password_exits_130(ready: Cli) -> None:
    process = subprocess.Popen(
        ready.command("records", "list", "account"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ready.env,
        start_new_session=True,
    )
    try:
        # Wait until the process is blocked reading the password line.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            wchan = Path(f"/proc/{process.pid}/wchan").read_text(encoding="ascii")
            stat = Path(f"/proc/{process.pid}/stat").read_text(encoding="ascii")
            if stat.split(") ", 1)[1].startswith("S") and "pipe" in wchan:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert b"Traceback" not in stderr
    assert stderr.decode().strip() == "tui-crm: interrupted"


# In-process checks of the dispatcher with a command module written for the test.

FAKE_COMMANDS = textwrap.dedent(
    """
    from tui_crm.domain.errors import WrongPassword, EntityUnknown

    def register(subparsers):
        for name, handler in HANDLERS.items():
            subparsers.add_parser(name).set_defaults(handler=handler)

    def domain_failure(args):
        raise EntityUnknown("widget")

    async def async_wrong_password(args):
        raise WrongPassword()

    def interrupted(args):
        raise KeyboardInterrupt

    def bug(args):
        raise ZeroDivisionError("secret record text must not be printed")

    async def async_ok(args):
        assert args.settings.profile.name == "p"
        return 0

    def broken_pipe(args):
        raise BrokenPipeError

    HANDLERS = {
        "domain-failure": domain_failure,
        "async-wrong-password": async_wrong_password,
        "interrupted": interrupted,
        "bug": bug,
        "async-ok": async_ok,
        "broken-pipe": broken_pipe,
    }
    """
)


@pytest.fixture
def fake_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "fake_cli_cmds.py").write_text(FAKE_COMMANDS, encoding="utf-8")
    (module_dir / "broken_cli_cmds.py").write_text(
        "import no_such_dependency_for_tui_crm_tests\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(module_dir))
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setattr(
        cli_main,
        "COMMAND_MODULES",
        (*cli_main.COMMAND_MODULES, "fake_cli_cmds", "absent_cli_cmds_module"),
    )
    return tmp_path


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        ("domain-failure", 1, "tui-crm: unknown entity: widget"),
        ("async-wrong-password", 3, "tui-crm: wrong password"),
        ("interrupted", 130, "tui-crm: interrupted"),
        (
            "bug",
            1,
            "tui-crm: internal error (ZeroDivisionError); "
            "run with TUI_CRM_DEBUG=1 to see the details",
        ),
        ("async-ok", 0, ""),
    ],
)
def test_dispatch_and_exit_codes(
    fake_commands: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    code: int,
    message: str,
) -> None:
    monkeypatch.delenv("TUI_CRM_DEBUG", raising=False)
    assert cli_main.main(["--profile", str(fake_commands / "p"), command]) == code
    err = capsys.readouterr().err
    assert err.strip() == message
    assert "secret record text" not in err


def test_debug_shows_the_traceback_of_a_bug(
    fake_commands: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUI_CRM_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli_main.main(["--profile", str(fake_commands / "p"), "bug"])


def test_a_missing_command_module_is_skipped(fake_commands: Path) -> None:
    assert cli_main._load_command_module("absent_cli_cmds_module") is None
    assert cli_main._load_command_module("tui_crm.cli.no_such_module") is None


def test_a_command_module_with_a_broken_import_is_not_hidden(fake_commands: Path) -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_for_tui_crm_tests"):
        cli_main._load_command_module("broken_cli_cmds")


def test_a_broken_command_module_costs_only_its_own_commands(
    fake_commands: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TUI_CRM_DEBUG", raising=False)
    modules = ("broken_cli_cmds", *cli_main.COMMAND_MODULES)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", modules)
    assert cli_main.main(["--profile", str(fake_commands / "p"), "async-ok"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "tui-crm: warning: commands of broken_cli_cmds unavailable (ModuleNotFoundError: "
        "No module named 'no_such_dependency_for_tui_crm_tests')"
    ]


def test_broken_pipe_is_quiet(fake_commands: Path) -> None:
    code = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tui_crm.cli import main as m;"
            "m.COMMAND_MODULES = (*m.COMMAND_MODULES, 'fake_cli_cmds');"
            f"sys.path.insert(0, {str(fake_commands / 'mods')!r});"
            f"sys.exit(m.main(['--profile', {str(fake_commands / 'p')!r}, 'broken-pipe']))",
        ],
        capture_output=True,
        timeout=60,
    )
    assert code.returncode == 1
    assert code.stderr == b""


def test_no_command_opens_the_interface_with_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []

    def fake_run_app(settings: object) -> int:
        seen.append(settings)
        return 7

    fake_ui = types.ModuleType("tui_crm.ui.app")
    fake_ui.run_app = fake_run_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tui_crm.ui.app", fake_ui)
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "config.toml"))
    assert cli_main.main(["--profile", str(tmp_path / "p")]) == 7
    [settings] = seen
    assert settings.profile == tmp_path / "p"  # type: ignore[attr-defined]


def test_no_command_without_an_interface_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tui_crm.ui.app", None)
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "config.toml"))
    assert cli_main.main(["--profile", str(tmp_path / "p")]) == 1
    assert capsys.readouterr().err == "tui-crm: the interface is not part of this build\n"


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["records", "list", "account"], "records"),
        (["--profile", "/x", "--password-stdin", "check", "--json"], "check"),
        (["--profile=/x", "wipe", "--yes"], "wipe"),
        ([], None),
        (["--help"], None),
        (["--version"], None),
        (["--profile"], None),
    ],
)
def test_requested_command_is_found_without_imports(argv: list[str], command: str | None) -> None:
    assert cli_main.requested_command(argv) == command


def test_a_partial_tree_still_holds_the_requested_command() -> None:
    parser = cli_main.build_parser("records")
    args = parser.parse_args(["records", "get", "account", "ABC"])
    assert args.id == "abc" and callable(args.handler)
