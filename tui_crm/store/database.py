"""Opening the SQLCipher database, and turning its low-level failures into clear errors.

Every open sets the same PRAGMAs in the same order: the log is silenced before
the key is tried (a wrong key would otherwise print HMAC errors into the
terminal UI), the raw 256-bit key is given as hex (no SQLCipher KDF), and the
SQLCipher 4 settings are pinned so a future default change cannot silently
make the file unreadable.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlcipher3

from tui_crm.domain.errors import ProfileDamaged

Connection = Any
"""A sqlcipher3 connection (the binding ships no type information)."""

DatabaseError = sqlcipher3.DatabaseError
IntegrityError = sqlcipher3.IntegrityError

# FTS5 and R*Tree report a damaged shadow-table page as their constructor failing.
_DAMAGE_HINTS = (
    "not a database",
    "malformed",
    "corrupt",
    "disk i/o error",
    "hmac",
    "vtable constructor failed",
)


def open_database(
    path: Path, key: bytearray, *, create: bool = False, page_size: int = 4096
) -> Connection:
    """Open (or create) the encrypted database with the raw application key.

    `page_size` comes from the key file: SQLCipher cannot read the first page
    without it, and a wrong one looks exactly like damage.

    A wrong key, a damaged first page or a truncated file all show up as the
    first read failing; they are reported as `ProfileDamaged`, because the key
    came from an authenticated key file and is therefore right.
    """
    if not create and not path.exists():
        raise ProfileDamaged("database file is missing")
    if create and not path.exists():
        # Owner-only from the first byte; SQLite gives -wal and -shm the same mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("PRAGMA cipher_compatibility = 4")
        conn.execute(f"PRAGMA cipher_page_size = {int(page_size):d}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA temp_store = MEMORY")
        # 32 MiB of decrypted pages: index pages stay hot instead of being
        # decrypted again on every lookup (the default is 2 MiB).
        conn.execute("PRAGMA cache_size = -32768")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ProfileDamaged("database cannot switch to write-ahead logging")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
    except DatabaseError as exc:
        conn.close()
        raise ProfileDamaged(describe_damage(exc)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def cipher_version(conn: Connection) -> str:
    row = conn.execute("PRAGMA cipher_version").fetchone()
    return str(row[0]) if row else "unknown"


def is_damage(exc: BaseException) -> bool:
    """Whether a database error means the file is unreadable rather than a program bug."""
    if not isinstance(exc, DatabaseError) or isinstance(exc, IntegrityError):
        return False
    text = str(exc).lower()
    return any(hint in text for hint in _DAMAGE_HINTS)


def describe_damage(exc: BaseException) -> str:
    text = str(exc).lower()
    if "not a database" in text:
        return "database cannot be decrypted (damaged or replaced file)"
    if "malformed" in text or "corrupt" in text:
        return "database pages are damaged or missing"
    if "disk i/o" in text:
        return "database file cannot be read (I/O error)"
    if "vtable constructor failed" in text:
        return "search or position index pages are damaged"
    return "database cannot be read"


@contextlib.contextmanager
def damage_guard() -> Iterator[None]:
    """Re-raise damage found mid-query as `ProfileDamaged`, so no traceback reaches the user."""
    try:
        yield
    except DatabaseError as exc:
        if is_damage(exc):
            raise ProfileDamaged(describe_damage(exc)) from None
        raise


@contextlib.contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """One write transaction: everything inside commits together or not at all.

    BEGIN IMMEDIATE takes the write lock up front, so two writers wait instead
    of failing halfway with SQLITE_BUSY on upgrade.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(DatabaseError):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
