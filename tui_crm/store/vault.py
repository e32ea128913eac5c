"""Profile life cycle on disk: create, unlock, change password, wipe.

Blocking (Argon2id, file I/O, SQLCipher); the services run it off the event loop.
The application key exists in memory only between unwrapping and keying the
connection; the bytearray is wiped right after.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from datetime import UTC, datetime

from tui_crm.domain.errors import (
    LockedOut,
    ProfileDamaged,
    ProfileExists,
    ProfileMissing,
    WrongPassword,
)
from tui_crm.domain.standard_schema import STANDARD_ENTITIES
from tui_crm.store import keyfile, lockout
from tui_crm.store.atomic import TEMP_MARKER, fsync_dir, remove_stale_temps
from tui_crm.store.database import (
    Connection,
    DatabaseError,
    cipher_version,
    describe_damage,
    open_database,
    transaction,
)
from tui_crm.store.entities import save_entities
from tui_crm.store.keyfile import KdfParams
from tui_crm.store.lockout import Clock
from tui_crm.store.migrations import migrate, schema_version
from tui_crm.store.paths import ProfilePaths


def profile_exists(paths: ProfilePaths) -> bool:
    return paths.key.exists() or paths.db.exists()


def create_profile(
    paths: ProfilePaths,
    password: str,
    params: KdfParams,
    *,
    offline: bool = True,
    page_size: int | None = keyfile.NEW_PROFILE_PAGE_SIZE,
) -> Connection:
    """Make the database first and the key file last: a profile 'exists' once both are there.

    `page_size` None makes a profile as older versions did (4 KiB pages, not
    named in the key file), which tests use to prove those still open.
    """
    if profile_exists(paths):
        raise ProfileExists(f"a profile already exists in {paths.root}")
    paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    app_key = bytearray(os.urandom(keyfile.KEY_BYTES))
    profile_id = str(uuid.uuid4())
    try:
        wrapped = keyfile.wrap(app_key, password, params, profile_id, page_size)
        conn = open_database(paths.db, app_key, create=True, page_size=wrapped.database_page_size)
    finally:
        keyfile.wipe(app_key)
    try:
        migrate(conn)
        with transaction(conn):
            conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [
                    ("profile_id", profile_id),
                    ("cipher_version_created", cipher_version(conn)),
                    ("created_at", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
                ],
            )
            save_entities(conn, STANDARD_ENTITIES, source="standard")
            conn.execute(
                "INSERT OR REPLACE INTO settings(key, value) VALUES ('backend', ?)",
                ('"offline"' if offline else "null",),
            )
        keyfile.write_key_file(paths.key, wrapped)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_lockout(paths: ProfilePaths, clock: Clock) -> None:
    remaining = lockout.read_state(paths.lockout).remaining(clock())
    if remaining > 0:
        raise LockedOut(remaining)


def _unwrap_counted(
    paths: ProfilePaths, key_file: keyfile.KeyFile, password: str, clock: Clock
) -> bytearray:
    """Unwrap, counting a failure toward the lockout and clearing the count on success."""
    try:
        app_key = keyfile.unwrap(key_file, password)
    except WrongPassword:
        state = lockout.record_failure(paths.lockout, clock())
        raise WrongPassword(retry_after=state.delay()) from None
    lockout.record_success(paths.lockout)
    return app_key


def unlock_profile(paths: ProfilePaths, password: str, clock: Clock) -> Connection:
    if not profile_exists(paths):
        raise ProfileMissing(f"no profile in {paths.root} (create one with init)")
    key_file = keyfile.read_key_file(paths.key)
    if not paths.db.exists():
        raise ProfileDamaged("database file is missing")
    _check_lockout(paths, clock)
    app_key = _unwrap_counted(paths, key_file, password, clock)
    try:
        conn = open_database(paths.db, app_key, page_size=key_file.database_page_size)
    finally:
        keyfile.wipe(app_key)
    try:
        if schema_version(conn) == 0:
            raise ProfileDamaged("database is empty (profile creation did not finish?)")
        row = conn.execute("SELECT value FROM meta WHERE key = 'profile_id'").fetchone()
        if row is None or row[0] != key_file.profile_id:
            raise ProfileDamaged("key file belongs to another profile")
        migrate(conn)
    except DatabaseError as exc:
        conn.close()
        raise ProfileDamaged(describe_damage(exc)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def change_password(
    paths: ProfilePaths, old: str, new: str, params: KdfParams, clock: Clock
) -> None:
    """Re-wrap the same application key under the new password; the database is not touched.

    The new key file replaces the old one by an atomic rename, so a crash at any
    instant leaves exactly one of the two passwords working.
    """
    if not profile_exists(paths):
        raise ProfileMissing(f"no profile in {paths.root} (create one with init)")
    remove_stale_temps(paths.key)
    key_file = keyfile.read_key_file(paths.key)
    _check_lockout(paths, clock)
    app_key = _unwrap_counted(paths, key_file, old, clock)
    try:
        rewrapped = keyfile.wrap(app_key, new, params, key_file.profile_id, key_file.page_size)
    finally:
        keyfile.wipe(app_key)
    keyfile.write_key_file(paths.key, rewrapped)


def lockout_remaining(paths: ProfilePaths, clock: Clock) -> float:
    return lockout.read_state(paths.lockout).remaining(clock())


def wipe_profile(paths: ProfilePaths) -> None:
    """Delete every file the profile owns; the folder goes too if nothing else is in it."""
    if not paths.root.exists() or not profile_exists(paths):
        raise ProfileMissing(f"no profile in {paths.root}")
    victims = [paths.db, paths.key, paths.lockout, *paths.sidecars()]
    victims += [p for p in paths.root.glob(f"*{TEMP_MARKER}*") if p.is_file()]
    for path in victims:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    fsync_dir(paths.root)
    with contextlib.suppress(OSError):
        paths.root.rmdir()
    if paths.root.exists() and not any(paths.root.iterdir()):
        shutil.rmtree(paths.root, ignore_errors=True)
