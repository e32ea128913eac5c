"""Helpers for the location tests: settings, placed records, a connection-counting listener."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tui_crm.config import KdfSettings, LocationSettings, Settings
from tui_crm.services.session import Session
from tui_crm.store.database import Connection
from tui_crm.store.sync_store import put_record

LOW_KDF = KdfSettings(memory_kib=19456, iterations=1, lanes=1)


def geo_settings(tmp_path: Path, *, map_enabled: bool = True, **location: Any) -> Settings:
    return Settings(
        profile=tmp_path / "profile",
        map_enabled=map_enabled,
        kdf=LOW_KDF,
        location=LocationSettings(**location),
    )


async def put_places(session: Session, places: Iterable[tuple[str, str, str, Any, Any]]) -> None:
    """(entity, id, name, lat, lon) rows written as synced records in one transaction."""
    definitions = {e.name: e for e in await session.records.entities()}
    rows = list(places)

    def write(conn: Connection) -> None:
        for entity, ident, name, lat, lon in rows:
            definition = definitions[entity]
            body: dict[str, Any] = {definition.primary_name: name}
            if lat is not None:
                body[definition.latitude_field or ""] = lat
            if lon is not None:
                body[definition.longitude_field or ""] = lon
            put_record(
                conn,
                definition,
                ident,
                body,
                state="synced",
                server_version="1",
                base_body=None,
                modified_on=None,
            )

    await session.write(write)


class ConnectionCounter:
    """A listening TCP socket that only counts who connects (a stand-in gpsd)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ConnectionCounter:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self._server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
