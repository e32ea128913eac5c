"""Password prompts on a real terminal (a pty): asked without echo, asked twice when new."""

from __future__ import annotations

import os
import pty
import select
import time

from cli_harness import PASSWORD, Cli, tui_crm_executable

NEW_PASSWORD = "typed on the terminal"


def _run_on_a_terminal(
    command: list[str], env: dict[str, str], answers: list[tuple[str, str]]
) -> tuple[int, str]:
    """Run `command` on a new pty; answer each prompt once it is on screen."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes tui-crm
        os.execve(command[0], command, env)
    screen = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if pending and pending[0][0].encode() in screen:
                prompt, answer = pending.pop(0)
                screen = screen.replace(prompt.encode(), b"<" + prompt.encode() + b" answered>", 1)
                os.write(fd, answer.encode() + b"\n")
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert not pending, f"never asked {pending[0][0]!r}; screen: {screen!r}"
    return os.waitstatus_to_exitcode(status), screen.decode("utf-8", "replace")


def _command(cli: Cli, *args: str) -> list[str]:
    return [tui_crm_executable(), "--profile", str(cli.profile), *args]


def test_init_asks_twice_without_echo(cli: Cli) -> None:
    code, screen = _run_on_a_terminal(
        _command(cli, "init", "--offline"),
        cli.env,
        [("New profile password:", PASSWORD), ("Repeat the password:", PASSWORD)],
    )
    assert code == 0, screen
    assert "created encrypted profile" in screen
    assert PASSWORD not in screen
    cli.ok("check")


def test_init_with_two_different_passwords_creates_nothing(cli: Cli) -> None:
    code, screen = _run_on_a_terminal(
        _command(cli, "init", "--offline"),
        cli.env,
        [("New profile password:", PASSWORD), ("Repeat the password:", PASSWORD + "x")],
    )
    assert code == 1
    assert "the two passwords differ" in screen
    assert "Traceback" not in screen
    assert not (cli.profile / "profile.key").exists()


def test_passwd_and_unlock_on_the_terminal(ready: Cli) -> None:
    code, screen = _run_on_a_terminal(
        _command(ready, "passwd"),
        ready.env,
        [
            ("Current password:", PASSWORD),
            ("New password:", NEW_PASSWORD),
            ("Repeat the new password:", NEW_PASSWORD),
        ],
    )
    assert code == 0, screen
    assert PASSWORD not in screen and NEW_PASSWORD not in screen
    code, screen = _run_on_a_terminal(
        _command(ready, "records", "list", "account"),
        ready.env,
        [("Profile password:", NEW_PASSWORD)],
    )
    assert code == 0, screen
    assert "id" in screen and NEW_PASSWORD not in screen
