"""The entity catalog in the database: which entities exist and how their fields look."""

from __future__ import annotations

from collections.abc import Iterable

from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import EntityUnknown
from tui_crm.store.database import Connection
from tui_crm.store.entity_codec import entity_from_json, entity_to_json
from tui_crm.store.indexing import link_targets


def save_entities(conn: Connection, entities: Iterable[EntityDef], *, source: str) -> None:
    """Insert or replace definitions; the caller owns the transaction.

    An entity new to the profile becomes a target of reverse links, so the
    lookups already stored that point at it are linked in the same transaction.
    """
    entities = list(entities)
    held = {name for (name,) in conn.execute("SELECT name FROM entities")}
    conn.executemany(
        "INSERT INTO entities(name, definition, source) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET "
        "definition = excluded.definition, source = excluded.source",
        [(e.name, entity_to_json(e), source) for e in entities],
    )
    added = {e.name for e in entities} - held
    if added:
        link_targets(conn, added)


def load_entities(conn: Connection) -> list[EntityDef]:
    rows = conn.execute("SELECT definition FROM entities ORDER BY name").fetchall()
    return [entity_from_json(row[0]) for row in rows]


def load_entity(conn: Connection, name: str) -> EntityDef:
    row = conn.execute("SELECT definition FROM entities WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise EntityUnknown(name)
    return entity_from_json(row[0])
