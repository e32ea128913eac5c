"""SettingsService: app state and server credentials kept inside the encrypted database.

The server password is stored only while Save Password is on; turning it off
deletes the stored password in the same transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui_crm.store import kv
from tui_crm.store.database import Connection

if TYPE_CHECKING:
    from tui_crm.services.session import Session

SAVE_PASSWORD = "save_password"
PASSWORD = "password"


class SettingsService:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def get(self, key: str, default: Any = None) -> Any:
        value = await self._session.run(lambda conn: kv.get_value(conn, "settings", key))
        return default if value is None else value

    async def set(self, key: str, value: Any) -> None:
        """Store a JSON value; None removes the key."""
        await self._session.write(lambda conn: kv.set_value(conn, "settings", key, value))

    async def all(self) -> dict[str, Any]:
        return await self._session.run(lambda conn: kv.all_values(conn, "settings"))

    async def save_password(self) -> bool:
        return bool(await self.get(SAVE_PASSWORD, False))

    async def set_save_password(self, on: bool) -> None:
        def work(conn: Connection) -> None:
            kv.set_value(conn, "settings", SAVE_PASSWORD, on)
            if not on:
                kv.delete_value(conn, "credentials", PASSWORD)

        await self._session.write(work)

    async def credentials(self) -> dict[str, Any]:
        return await self._session.run(lambda conn: kv.all_values(conn, "credentials"))

    async def set_credentials(self, values: dict[str, Any]) -> None:
        """Merge credential fields (None removes one); a password is dropped unless saving is on."""

        def work(conn: Connection) -> None:
            saving = bool(kv.get_value(conn, "settings", SAVE_PASSWORD))
            for key, value in values.items():
                if key == PASSWORD and not saving:
                    kv.delete_value(conn, "credentials", PASSWORD)
                    continue
                kv.set_value(conn, "credentials", key, value)

        await self._session.write(work)

    async def clear_credentials(self) -> None:
        await self._session.write(lambda conn: kv.clear(conn, "credentials"))
