"""init, passwd, check and wipe through the installed command, on real SQLCipher files."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from cli_harness import PASSWORD, Cli, assert_one_line_failure

NEW_PASSWORD = "a brand new passphrase"


def test_init_creates_a_private_encrypted_profile(cli: Cli) -> None:
    result = cli.init()
    assert str(cli.profile) in result.stdout
    key_file = cli.profile / "profile.key"
    database = cli.profile / "profile.db"
    assert key_file.exists() and database.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not database.read_bytes().startswith(b"SQLite format 3")
    assert PASSWORD.encode() not in key_file.read_bytes()


def test_init_twice_refuses_and_keeps_the_first_profile(ready: Cli) -> None:
    key_before = (ready.profile / "profile.key").read_bytes()
    result = ready.run("init", "--offline", password="another password")
    assert_one_line_failure(result, 1, "already exists")
    assert (ready.profile / "profile.key").read_bytes() == key_before
    ready.ok("check")


def test_init_without_offline_also_holds_the_standard_schema(cli: Cli) -> None:
    cli.ok("init")
    document = json.loads(cli.ok("check", "--json").stdout)
    assert document


def test_init_refuses_a_short_password(cli: Cli) -> None:
    result = cli.run("init", "--offline", password="short")
    assert_one_line_failure(result, 1, "at least 8 characters")
    assert "short" not in result.stderr.replace("too short", "")
    assert not (cli.profile / "profile.key").exists()


def test_init_without_a_password_line(cli: Cli) -> None:
    result = cli.run("init", "--offline", passwords=[""])
    assert_one_line_failure(result, 1, "empty password")
    result = cli.run("init", "--offline", passwords=[], stdin="")
    # No --password-stdin and no terminal: refuse instead of echoing a prompt.
    assert_one_line_failure(result, 1, "--password-stdin")
    assert not (cli.profile / "profile.key").exists()


def test_check_reports_ok_and_counts(ready: Cli) -> None:
    ready.ok("records", "create", "account", "--set", "name=Acme")
    ready.ok("records", "create", "account", "--set", "name=Globex")
    ready.ok("records", "create", "contact", "--set", "lastname=Smith")
    document = json.loads(ready.ok("check", "--json").stdout)
    assert isinstance(document, dict)
    text = json.dumps(document)
    assert document.get("ok") is True, document
    counts = document["counts"]
    assert counts["account"] == 2 and counts["contact"] == 1, text
    human = ready.ok("check").stdout
    assert "counts.account" in human


def test_wrong_password_exits_3_with_one_line(ready: Cli) -> None:
    result = ready.run("check", password="not the password")
    assert_one_line_failure(result, 3, "wrong password")
    assert "not the password" not in result.stderr


def test_repeated_failures_lock_out_and_say_when(ready: Cli) -> None:
    messages = []
    for _ in range(5):
        result = ready.run("check", password="not the password")
        assert_one_line_failure(result, 3, "wrong password")
        messages.append(result.stderr.strip())
    assert "next attempt allowed in" not in messages[0]
    assert messages[-1] == "tui-crm: wrong password; next attempt allowed in 1 s"
    # Many more failures just now (as lockout.json records them): a long delay that
    # even the right password waits out, whatever this machine's speed.
    (ready.profile / "lockout.json").write_text(
        json.dumps({"failures": 12, "last_failure_at": time.time()}), encoding="utf-8"
    )
    locked = ready.run("check")
    assert_one_line_failure(locked, 3, "locked", "try again in")


def test_passwd_changes_the_password(ready: Cli) -> None:
    ident = ready.ok("records", "create", "account", "--set", "name=Kept").stdout.strip()
    db_before = (ready.profile / "profile.db").read_bytes()
    result = ready.ok("passwd", passwords=[PASSWORD, NEW_PASSWORD])
    assert "password changed" in result.stdout
    assert (ready.profile / "profile.db").read_bytes() == db_before  # re-wrap only
    assert_one_line_failure(ready.run("check"), 3, "wrong password")
    got = ready.ok("records", "get", "account", ident, "--json", password=NEW_PASSWORD)
    assert json.loads(got.stdout)["fields"]["name"] == "Kept"


def test_passwd_with_wrong_old_password_changes_nothing(ready: Cli) -> None:
    key_before = (ready.profile / "profile.key").read_bytes()
    result = ready.run("passwd", passwords=["wrong old password", NEW_PASSWORD])
    assert_one_line_failure(result, 3, "wrong password")
    assert NEW_PASSWORD not in result.stderr
    assert (ready.profile / "profile.key").read_bytes() == key_before


def test_passwd_refuses_a_short_new_password(ready: Cli) -> None:
    key_before = (ready.profile / "profile.key").read_bytes()
    result = ready.run("passwd", passwords=[PASSWORD, "tiny"])
    assert_one_line_failure(result, 1, "at least 8 characters")
    assert (ready.profile / "profile.key").read_bytes() == key_before


def test_passwd_needs_the_second_line(ready: Cli) -> None:
    result = ready.run("passwd", passwords=[PASSWORD])
    assert_one_line_failure(result, 1, "standard input ended")
    ready.ok("check")


def test_wipe_removes_everything(ready: Cli) -> None:
    ready.ok("records", "create", "account", "--set", "name=Gone")
    result = ready.ok("wipe", "--yes", password=None)
    assert "wiped" in result.stdout
    leftovers = list(ready.profile.rglob("*")) if ready.profile.exists() else []
    assert leftovers == []
    assert_one_line_failure(ready.run("check"), 1, "no profile")


def test_missing_profile_is_one_line_for_every_command(cli: Cli) -> None:
    for args in (
        ["check"],
        ["passwd"],
        ["records", "list", "account"],
        ["records", "create", "account", "--set", "name=x"],
        ["outbox"],
    ):
        result = cli.run(*args)
        assert_one_line_failure(result, 1, "no profile at", str(cli.profile))
    assert_one_line_failure(cli.run("wipe", "--yes", password=None), 1, "no profile")


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _filled_profile(cli: Cli) -> None:
    cli.init()
    rows = "".join(f"Company {i},{'x' * 1500}\n" for i in range(60))
    cli.ok("records", "import", "account", "--file", "-", stdin="name,description\n" + rows)


def test_flipped_byte_in_any_database_page_is_found_by_check(cli: Cli) -> None:
    _filled_profile(cli)
    database = cli.profile / "profile.db"
    assert not Path(f"{database}-wal").exists() or Path(f"{database}-wal").stat().st_size == 0
    pristine = database.read_bytes()
    page = json.loads((cli.profile / "profile.key").read_text())["db_page_size"]
    pages = len(pristine) // page
    assert pages >= 5
    for index in sorted({2, pages // 2, pages - 1}):
        database.write_bytes(pristine)
        _flip_byte(database, index * page + 1000)
        result = cli.run("check")
        assert_one_line_failure(result, 1, "profile damaged")
        listing = cli.run("records", "list", "account", "--limit", "100", "--json")
        assert "Traceback" not in listing.stderr
        if listing.returncode == 0:
            # Reading around the damage is fine; wrong data is not.
            for record in json.loads(listing.stdout):
                assert record["fields"]["name"].startswith("Company ")
        else:
            assert_one_line_failure(listing, 1, "profile damaged")


def test_flipped_byte_in_the_first_page_is_a_clear_error(cli: Cli) -> None:
    cli.init()
    _flip_byte(cli.profile / "profile.db", 100)
    result = cli.run("records", "list", "account")
    assert_one_line_failure(result, 1, "profile damaged")


def test_truncated_database_is_a_clear_error(cli: Cli) -> None:
    _filled_profile(cli)
    database = cli.profile / "profile.db"
    with database.open("r+b") as handle:
        handle.truncate(database.stat().st_size // 2 + 123)
    result = cli.run("check")
    assert_one_line_failure(result, 1, "profile damaged")


def test_every_flipped_byte_of_the_key_file_is_refused(cli: Cli) -> None:
    cli.init()
    key_file = cli.profile / "profile.key"
    pristine = key_file.read_bytes()
    # Start, middle (salt/parameters/nonce) and end (the GCM tag) of the file.
    for offset in sorted({0, len(pristine) // 3, len(pristine) // 2, len(pristine) - 1}):
        key_file.write_bytes(pristine)
        _flip_byte(key_file, offset)
        result = cli.run("check")
        assert result.returncode in (1, 3), (offset, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        if result.returncode == 1:
            assert "profile damaged" in result.stderr
    key_file.write_bytes(pristine)
    cli.ok("check")


def test_garbage_key_file_is_damage_not_a_wrong_password(cli: Cli) -> None:
    cli.init()
    (cli.profile / "profile.key").write_bytes(b"\x00garbage{")
    result = cli.run("check")
    assert_one_line_failure(result, 1, "profile damaged")


def test_missing_key_file_is_a_clear_error(cli: Cli) -> None:
    cli.init()
    os.unlink(cli.profile / "profile.key")
    result = cli.run("check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "key" in result.stderr
