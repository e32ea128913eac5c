"""Key/value JSON tables inside the encrypted database: `settings` and `credentials`."""

from __future__ import annotations

import json
from typing import Any, Literal

from tui_crm.store.database import Connection

Table = Literal["settings", "credentials"]
_TABLES = frozenset({"settings", "credentials"})


def _table(table: Table) -> str:
    if table not in _TABLES:
        raise ValueError(f"not a key/value table: {table}")
    return table


def get_value(conn: Connection, table: Table, key: str) -> Any:
    row = conn.execute(f"SELECT value FROM {_table(table)} WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])


def set_value(conn: Connection, table: Table, key: str, value: Any) -> None:
    """Store a value; None removes the key, so 'unset' and 'absent' are the same."""
    if value is None:
        delete_value(conn, table, key)
        return
    conn.execute(
        f"INSERT INTO {_table(table)}(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value, separators=(",", ":"))),
    )


def delete_value(conn: Connection, table: Table, key: str) -> None:
    conn.execute(f"DELETE FROM {_table(table)} WHERE key = ?", (key,))


def all_values(conn: Connection, table: Table) -> dict[str, Any]:
    rows = conn.execute(f"SELECT key, value FROM {_table(table)} ORDER BY key").fetchall()
    return {key: json.loads(value) for key, value in rows}


def clear(conn: Connection, table: Table) -> None:
    conn.execute(f"DELETE FROM {_table(table)}")
