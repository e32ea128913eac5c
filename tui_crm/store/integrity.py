"""`check`: read every page and every structure, and say what is wrong in plain words.

Queries only touch the pages they need, so damage in a page nobody has read
yet would go unnoticed; this walks all of them (SQLCipher's HMAC check) and
SQLite's own structure check, the FTS and R*Tree indexes, and the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_crm.domain.errors import DomainError
from tui_crm.store.database import Connection, DatabaseError, cipher_version, describe_damage
from tui_crm.store.keyfile import read_key_file
from tui_crm.store.migrations import LATEST_VERSION, schema_version
from tui_crm.store.paths import ProfilePaths
from tui_crm.store.records import count_records, scan_counts

MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class CheckReport:
    ok: bool
    schema_version: int
    cipher_version: str
    cipher_version_created: str
    counts: dict[str, int]
    outbox: int
    open_conflicts: int
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "schema_version": self.schema_version,
            "cipher_version": self.cipher_version,
            "cipher_version_created": self.cipher_version_created,
            "counts": dict(self.counts),
            "outbox": self.outbox,
            "open_conflicts": self.open_conflicts,
            "problems": list(self.problems),
        }


def run_check(conn: Connection, paths: ProfilePaths) -> CheckReport:
    problems: list[str] = []
    profile_id = _meta(conn, "profile_id")
    try:
        key_file = read_key_file(paths.key)
        if key_file.profile_id != profile_id:
            problems.append("key file belongs to another profile")
    except DomainError as exc:
        problems.append(str(exc))
    problems.extend(_probe(conn, "PRAGMA cipher_integrity_check", ok=None, label="page check"))
    problems.extend(_probe(conn, "PRAGMA integrity_check", ok="ok", label="structure check"))
    problems.extend(
        _probe(conn, "SELECT rtreecheck('record_positions')", ok="ok", label="positions")
    )
    problems.extend(_fts_check(conn))
    version = 0
    counts: dict[str, int] = {}
    outbox = conflicts = 0
    try:
        version = schema_version(conn)
        counts = count_records(conn)
        scanned = scan_counts(conn)
        drifted = sorted(
            name
            for name in set(counts) | set(scanned)
            if counts.get(name, 0) != scanned.get(name, 0)
        )
        if drifted:
            problems.append(f"record counts disagree with the records for: {', '.join(drifted)}")
        outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        conflicts = conn.execute(
            "SELECT count(*) FROM conflicts WHERE resolution IS NULL"
        ).fetchone()[0]
    except DatabaseError as exc:
        problems.append(f"counts: {_reason(exc)}")
    if version != LATEST_VERSION:
        problems.append(f"schema version {version}, expected {LATEST_VERSION}")
    return CheckReport(
        ok=not problems,
        schema_version=version,
        cipher_version=cipher_version(conn),
        cipher_version_created=_meta(conn, "cipher_version_created") or "unknown",
        counts=counts,
        outbox=outbox,
        open_conflicts=conflicts,
        problems=problems[:MAX_PROBLEMS],
    )


def _probe(conn: Connection, sql: str, *, ok: str | None, label: str) -> list[str]:
    """Rows of a check PRAGMA that are not the all-clear, as '<label>: <row>' lines."""
    try:
        rows = conn.execute(sql).fetchmany(MAX_PROBLEMS)
    except DatabaseError as exc:
        return [f"{label}: {_reason(exc)}"]
    found = [str(row[0]) for row in rows if row and str(row[0]) != ok]
    return [f"{label}: {line}" for line in found]


def _fts_check(conn: Connection) -> list[str]:
    try:
        conn.execute("INSERT INTO records_fts(records_fts, rank) VALUES ('integrity-check', 0)")
    except DatabaseError as exc:
        return [f"search index: {_reason(exc)}"]
    return []


def _reason(exc: BaseException) -> str:
    """SQLite's own words for check output: they name pages and tables, never record contents."""
    return f"{describe_damage(exc)} ({str(exc)[:120]})"


def _meta(conn: Connection, key: str) -> str | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except DatabaseError:
        return None
    return None if row is None else str(row[0])
