"""Getting passwords from the user without echo, or line by line from standard input.

`--password-stdin` makes scripts and tests possible without a terminal (as
`docker login --password-stdin`); several passwords (old then new, profile
then server) are consecutive lines, so one reader is shared by a whole command.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import IO

from tui_crm.domain.errors import DomainError

MIN_PASSWORD_LENGTH = 8


class PasswordUnavailable(DomainError):
    """No password could be obtained: no terminal to ask on, or stdin ran out of lines."""


class PasswordRejected(DomainError):
    """A new password that is too short or was not repeated identically."""


class PasswordReader:
    """Hands out passwords in order, from stdin lines or from no-echo terminal prompts."""

    def __init__(self, *, from_stdin: bool, stdin: IO[bytes] | None = None) -> None:
        self._from_stdin = from_stdin
        self._stdin = stdin

    @property
    def from_stdin(self) -> bool:
        return self._from_stdin

    def read(self, prompt: str) -> str:
        """The next password; `prompt` is shown only when asking on the terminal."""
        if self._from_stdin:
            return self._next_stdin_line(prompt)
        return _prompt_without_echo(prompt)

    def read_new(self, prompt: str, repeat_prompt: str) -> str:
        """A new password: asked twice on a terminal (a typo would lock the user out)."""
        password = self.read(prompt)
        check_new_password(password)
        if not self._from_stdin and _prompt_without_echo(repeat_prompt) != password:
            raise PasswordRejected("the two passwords differ; nothing was changed")
        return password

    def _next_stdin_line(self, prompt: str) -> str:
        # Bytes, not text: the binary reader is shared with `records import --file -`,
        # and a text wrapper would swallow data lines into its own buffer.
        stream = self._stdin if self._stdin is not None else sys.stdin.buffer
        raw = stream.readline()
        if not raw:
            what = prompt.rstrip(": ").lower() or "password"
            raise PasswordUnavailable(f"standard input ended before the {what} line")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise PasswordUnavailable("the password line on standard input is not UTF-8") from None
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise PasswordUnavailable("empty password line on standard input")
        return password


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")


def _prompt_without_echo(prompt: str) -> str:
    """getpass falls back to echoing on stdin without a terminal; refuse that instead."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise PasswordUnavailable(
            "no terminal to ask for the password on: pass it with --password-stdin"
        ) from None
    os.close(fd)
    try:
        password = getpass.getpass(prompt)
    except EOFError:
        raise PasswordUnavailable("no password given") from None
    if not password:
        raise PasswordUnavailable("no password given")
    return password
