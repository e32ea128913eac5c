"""Create / unlock / passwords / lockout / damage on real SQLCipher files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from store_support import CHEAP_KDF, FakeClock, database_page_size

from tui_crm.domain.errors import (
    LockedOut,
    ProfileDamaged,
    ProfileExists,
    ProfileMissing,
    WrongPassword,
)
from tui_crm.services import ProfileService
from tui_crm.store import keyfile, vault
from tui_crm.store.keyfile import KdfParams
from tui_crm.store.lockout import MAX_DELAY_SECONDS
from tui_crm.store.paths import ProfilePaths


async def test_create_writes_private_key_file_and_encrypted_db(
    profiles: ProfileService, profile_dir: Path, password: str
) -> None:
    session = await profiles.create(password)
    await session.close()
    for name in ("profile.key", "profile.db"):
        assert stat.S_IMODE((profile_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(profile_dir.stat().st_mode) == 0o700
    header = (profile_dir / "profile.db").read_bytes()[:16]
    assert header != b"SQLite format 3\x00"
    key_json = json.loads((profile_dir / "profile.key").read_text())
    assert key_json["kdf"] == {"name": "argon2id", "memory_kib": 19456, "iterations": 1, "lanes": 1}
    assert profiles.exists()


async def test_default_kdf_parameters_are_rfc9106_second_choice(tmp_path: Path) -> None:
    profiles = ProfileService(tmp_path / "p")
    session = await profiles.create("a password")
    await session.close()
    key_json = json.loads((tmp_path / "p" / "profile.key").read_text())
    assert key_json["kdf"] == {"name": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 4}
    session = await profiles.unlock("a password")
    await session.close()


async def test_create_refuses_an_existing_profile(made: ProfileService, password: str) -> None:
    with pytest.raises(ProfileExists):
        await made.create(password)


async def test_missing_profile(profiles: ProfileService, password: str) -> None:
    with pytest.raises(ProfileMissing):
        await profiles.unlock(password)
    with pytest.raises(ProfileMissing):
        await profiles.change_password(password, "other password")
    with pytest.raises(ProfileMissing):
        await profiles.wipe()


async def test_wrong_password_then_right(made: ProfileService, password: str) -> None:
    with pytest.raises(WrongPassword) as caught:
        await made.unlock("not the password")
    assert caught.value.exit_code == 3
    assert str(caught.value) == "wrong password"
    session = await made.unlock(password)
    assert (await session.records.counts())["account"] == 300
    await session.close()


async def test_lockout_grows_persists_and_caps(
    profile_dir: Path, made: ProfileService, clock: FakeClock, password: str
) -> None:
    for _ in range(4):
        with pytest.raises(WrongPassword) as caught:
            await made.unlock("bad")
        assert caught.value.retry_after == 0
    with pytest.raises(WrongPassword) as caught:
        await made.unlock("bad")
    assert caught.value.retry_after == 1
    # Even the right password waits: the delay is enforced before the KDF runs.
    with pytest.raises(LockedOut) as locked:
        await made.unlock(password)
    assert locked.value.retry_after == 1
    assert locked.value.exit_code == 3
    clock.advance(1)
    with pytest.raises(WrongPassword) as caught:
        await made.unlock("bad")
    assert caught.value.retry_after == 2
    # A restart (new service object, same folder) keeps the count.
    restarted = ProfileService(profile_dir, kdf=CHEAP_KDF, clock=clock)
    assert await restarted.lockout_remaining() == 2
    clock.advance(1.5)
    with pytest.raises(LockedOut) as locked:
        await restarted.unlock(password)
    assert locked.value.retry_after == pytest.approx(0.5)
    for _ in range(20):
        clock.advance(MAX_DELAY_SECONDS)
        with pytest.raises(WrongPassword) as caught:
            await restarted.unlock("bad")
    assert caught.value.retry_after == MAX_DELAY_SECONDS
    clock.advance(MAX_DELAY_SECONDS)
    session = await restarted.unlock(password)
    await session.close()
    assert await restarted.lockout_remaining() == 0
    assert not (profile_dir / "lockout.json").exists()


async def test_lockout_also_guards_change_password(
    made: ProfileService, clock: FakeClock, password: str
) -> None:
    for _ in range(5):
        with pytest.raises(WrongPassword):
            await made.change_password("bad", "new password")
    with pytest.raises(LockedOut):
        await made.change_password(password, "new password")
    clock.advance(1)
    await made.change_password(password, "new password")


async def test_corrupt_lockout_file_counts_as_no_failures(
    profile_dir: Path, made: ProfileService, password: str
) -> None:
    (profile_dir / "lockout.json").write_text("{not json")
    session = await made.unlock(password)
    await session.close()


async def test_change_password_rewraps_without_touching_the_database(
    profile_dir: Path, made: ProfileService, password: str
) -> None:
    db_before = (profile_dir / "profile.db").read_bytes()
    key_before = (profile_dir / "profile.key").read_bytes()
    await made.change_password(password, "brand new password")
    assert (profile_dir / "profile.db").read_bytes() == db_before
    assert (profile_dir / "profile.key").read_bytes() != key_before
    with pytest.raises(WrongPassword):
        await made.unlock(password)
    session = await made.unlock("brand new password")
    assert (await session.records.counts())["account"] == 300
    await session.close()
    assert stat.S_IMODE((profile_dir / "profile.key").stat().st_mode) == 0o600
    assert [p.name for p in profile_dir.iterdir() if ".tmp-" in p.name] == []


async def test_missing_key_file(profile_dir: Path, made: ProfileService, password: str) -> None:
    (profile_dir / "profile.key").unlink()
    with pytest.raises(ProfileDamaged, match="key file is missing"):
        await made.unlock(password)


async def test_missing_database(profile_dir: Path, made: ProfileService, password: str) -> None:
    (profile_dir / "profile.db").unlink()
    with pytest.raises(ProfileDamaged, match="database file is missing"):
        await made.unlock(password)


@pytest.mark.parametrize("offset", [0, 10, 40, 80, 120, 160, -60, -3])
async def test_flipped_byte_in_key_file_is_damage(
    profile_dir: Path, made: ProfileService, password: str, offset: int
) -> None:
    path = profile_dir / "profile.key"
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ProfileDamaged, match="profile damaged: key file"):
        await made.unlock(password)


async def test_key_file_of_another_profile_is_damage_and_sqlcipher_stays_quiet(
    tmp_path: Path,
    profile_dir: Path,
    made: ProfileService,
    password: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    other = ProfileService(tmp_path / "other", kdf=CHEAP_KDF)
    await (await other.create(password)).close()
    os.replace(tmp_path / "other" / "profile.key", profile_dir / "profile.key")
    capfd.readouterr()
    with pytest.raises(ProfileDamaged, match=r"another profile|cannot be decrypted"):
        await made.unlock(password)
    # A wrong key must not make SQLCipher print HMAC errors into the terminal UI.
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


async def test_flipped_byte_in_first_page_is_damage(
    profile_dir: Path, made: ProfileService, password: str
) -> None:
    _flip(profile_dir / "profile.db", 200)
    with pytest.raises(ProfileDamaged, match="cannot be decrypted"):
        await made.unlock(password)


async def test_flipped_byte_in_untouched_page_is_found_by_check(
    profile_dir: Path, made: ProfileService, password: str
) -> None:
    size = (profile_dir / "profile.db").stat().st_size
    _flip(profile_dir / "profile.db", size - 300)
    session = await made.unlock(password)
    report = await session.check()
    await session.close()
    assert not report.ok
    assert any("HMAC verification failed" in p for p in report.problems), report.problems


async def test_reading_a_damaged_page_is_damage_not_wrong_data(
    profile_dir: Path, made: ProfileService, password: str
) -> None:
    size = (profile_dir / "profile.db").stat().st_size
    page_size = database_page_size(profile_dir)
    pages = size // page_size
    for page in range(pages // 2, pages):
        _flip(profile_dir / "profile.db", page * page_size + 1000)
    session = await made.unlock(password)
    try:
        with pytest.raises(ProfileDamaged, match="profile damaged"):
            await session.records.list("account", limit=1000)
    finally:
        await session.close()


@pytest.mark.parametrize("keep", [0, 0.5, "partial"])
async def test_truncated_database_is_damage(
    profile_dir: Path, made: ProfileService, password: str, keep: float | str
) -> None:
    path = profile_dir / "profile.db"
    data = path.read_bytes()
    cut = len(data) - 1000 if keep == "partial" else int(len(data) * float(keep))
    path.write_bytes(data[:cut])
    try:
        session = await made.unlock(password)
    except ProfileDamaged as exc:
        assert str(exc).startswith("profile damaged: ")
        return
    report = await session.check()
    await session.close()
    assert not report.ok and report.problems


async def test_check_on_a_healthy_profile(made: ProfileService, password: str) -> None:
    session = await made.unlock(password)
    report = await session.check()
    await session.close()
    assert report.ok, report.problems
    assert report.counts["account"] == 300
    assert report.outbox == 300
    assert report.schema_version >= 2
    assert report.cipher_version.startswith("4.")
    assert report.cipher_version_created == report.cipher_version
    assert report.to_json()["ok"] is True


async def test_wipe_removes_everything(profile_dir: Path, made: ProfileService) -> None:
    (profile_dir / "lockout.json").write_text("{}")
    await made.wipe()
    assert not profile_dir.exists()
    assert not made.exists()


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


async def test_passwd_can_raise_the_kdf_cost(
    profile_dir: Path, made: ProfileService, password: str, clock: FakeClock
) -> None:
    stronger = ProfileService(
        profile_dir,
        kdf=CHEAP_KDF.model_copy(update={"memory_kib": 32768, "iterations": 2}),
        clock=clock,
    )
    await stronger.change_password(password, "stronger password")
    kdf = json.loads((profile_dir / "profile.key").read_text())["kdf"]
    assert (kdf["memory_kib"], kdf["iterations"]) == (32768, 2)
    # Any service opens it: the cost is read from the key file, not from settings.
    session = await made.unlock("stronger password")
    await session.close()


async def test_closing_twice_is_harmless(made: ProfileService, password: str) -> None:
    session = await made.unlock(password)
    await session.close()
    await session.close()
    assert session.closed


async def test_a_flipped_byte_in_any_page_is_damage_or_nothing(
    profile_dir: Path, made: ProfileService, password: str
) -> None:
    """Every page in turn, the index pages of search included: each everyday call
    either works around the damage or says "profile damaged", never another error."""
    database = profile_dir / "profile.db"
    pristine = database.read_bytes()
    page_size = database_page_size(profile_dir)
    pages = len(pristine) // page_size
    assert pages > 8, pages
    outcomes: dict[str, int] = {"damaged": 0, "ok": 0}
    for page in range(pages):
        damaged = bytearray(pristine)
        damaged[page * page_size + 2000] ^= 0x40
        database.write_bytes(bytes(damaged))
        try:
            session = await made.unlock(password)
        except ProfileDamaged:
            outcomes["damaged"] += 1
            continue
        try:
            calls = [
                session.records.list("account", limit=1000),
                session.records.search("account", "Account", limit=50),
                session.records.create("account", {"name": "After damage"}),
                session.records.outbox(),
            ]
            for call in calls:  # each awaited, whatever the one before did
                try:
                    await call
                    outcomes["ok"] += 1
                except ProfileDamaged as exc:
                    assert str(exc).startswith("profile damaged: "), exc
                    outcomes["damaged"] += 1
            report = await session.check()
            assert not report.ok, f"check missed the flipped byte in page {page + 1}"
        finally:
            await session.close()
    assert outcomes["damaged"] >= pages, outcomes


async def test_check_compares_the_kept_counts_with_the_records(
    made: ProfileService, password: str
) -> None:
    session = await made.unlock(password)
    try:
        assert (await session.records.counts())["account"] == 300
        await session.records.delete(
            "account", (await session.records.list("account")).records[0].id
        )
        assert (await session.records.counts())["account"] == 299
        assert (await session.check()).ok
        await session.write(lambda conn: conn.execute("UPDATE entity_counts SET live = 7"))
        report = await session.check()
        assert not report.ok
        assert any("record counts disagree" in p and "account" in p for p in report.problems)
    finally:
        await session.close()


async def test_new_profiles_use_the_page_size_their_key_file_names(
    profile_dir: Path, profiles: ProfileService, password: str
) -> None:
    session = await profiles.create(password)
    try:
        actual = await session.run(lambda c: int(c.execute("PRAGMA page_size").fetchone()[0]))
        await session.records.create("account", {"name": "Paged"})
    finally:
        await session.close()
    assert actual == keyfile.NEW_PROFILE_PAGE_SIZE == database_page_size(profile_dir)
    assert (profile_dir / "profile.db").stat().st_size % actual == 0


async def test_a_profile_from_before_page_sizes_still_opens_and_keeps_4_kib(
    profile_dir: Path, profiles: ProfileService, password: str
) -> None:
    """Made the way earlier versions made them: 4 KiB pages, no size in the key file."""
    conn = vault.create_profile(
        ProfilePaths(profile_dir), password, KdfParams(19456, 1, 1), page_size=None
    )
    conn.close()
    assert "db_page_size" not in json.loads((profile_dir / "profile.key").read_text())
    session = await profiles.unlock(password)
    try:
        await session.records.create("account", {"name": "Old profile"})
        size = await session.run(lambda c: int(c.execute("PRAGMA page_size").fetchone()[0]))
    finally:
        await session.close()
    assert size == 4096
    await profiles.change_password(password, "new password")
    assert "db_page_size" not in json.loads((profile_dir / "profile.key").read_text())
    session = await profiles.unlock("new password")
    try:
        found = await session.records.search("account", "old")
    finally:
        await session.close()
    assert [r.name for r in found.records] == ["Old profile"]
