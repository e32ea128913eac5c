"""Reading passwords from stdin lines: exact text, clear refusals, nothing echoed back."""

from __future__ import annotations

import io

import pytest

from tui_crm.cli.password import (
    PasswordReader,
    PasswordRejected,
    PasswordUnavailable,
    check_new_password,
)


def _reader(data: bytes) -> PasswordReader:
    return PasswordReader(from_stdin=True, stdin=io.BytesIO(data))


def test_lines_are_handed_out_in_order_exactly() -> None:
    reader = _reader(" spaced out \r\nzweites Passwort ü\nrest of stdin".encode())
    assert reader.read("Current password: ") == " spaced out "
    assert reader.read_new("New password: ", "Repeat: ") == "zweites Passwort ü"


def test_running_out_of_lines_names_the_missing_one() -> None:
    reader = _reader(b"only one line\n")
    reader.read("Current password: ")
    with pytest.raises(PasswordUnavailable, match="before the new password line"):
        reader.read("New password: ")


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\n", "empty password"), (b"\xff\xfe\n", "not UTF-8"), (b"", "ended before")],
)
def test_unusable_lines_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(PasswordUnavailable, match=message):
        _reader(data).read("Profile password: ")


def test_new_passwords_need_eight_characters_and_the_message_hides_them() -> None:
    with pytest.raises(PasswordRejected) as caught:
        _reader(b"seven77\n").read_new("New password: ", "Repeat: ")
    assert "seven77" not in str(caught.value)
    assert "at least 8 characters" in str(caught.value)
    check_new_password("eight888")
