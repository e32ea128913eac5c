"""SyncService: connect a profile to its server, synchronise, keep and resolve conflicts.

The UI and the CLI await these methods; network work runs on the event loop
(httpx is async) and every store step on the session's DB thread. Tokens
and (only with Save Password) the server password are kept encrypted in the
profile through SettingsService, each rotation persisted at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_crm.config import Settings
from tui_crm.connectors.base import PushOp, RemoteRecord
from tui_crm.connectors.dataverse import DataverseConnector, api_root
from tui_crm.connectors.http import HttpClient, RetryPolicy, check_url_safe, make_client
from tui_crm.connectors.oauth import (
    DEFAULT_CLIENT_ID,
    BearerAuth,
    DeviceCodePrompt,
    OAuthClient,
    TokenManager,
    TokenSet,
    default_scope,
    discover_authority,
    trust_authority,
)
from tui_crm.domain.conflicts import Conflict, ConflictPolicy
from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import AuthenticationFailed, ConnectionFailed, DomainError
from tui_crm.domain.records import Record
from tui_crm.store import sync_store as ss
from tui_crm.store.database import Connection, transaction
from tui_crm.store.entities import load_entities, save_entities
from tui_crm.sync import apply
from tui_crm.sync.engine import EntityPlan, Progress, ProgressCallback, SyncEngine
from tui_crm.sync.resolve import resolve_conflict

if TYPE_CHECKING:
    from tui_crm.services.session import Session

__all__ = [
    "ConnectReport",
    "ConnectionOptions",
    "DeviceCodePrompt",
    "NotConnected",
    "Progress",
    "SyncService",
]

SYNCED_ENTITIES = (
    "account",
    "contact",
    "lead",
    "opportunity",
    "appointment",
    "task",
    "phonecall",
    "email",
    "annotation",
)
BACKENDS = ("dataverse",)
AUTH_MODES = ("device", "password", "client-credentials")

DevicePromptCallback = Callable[[DeviceCodePrompt], Awaitable[None] | None]


class NotConnected(DomainError):
    def __init__(self) -> None:
        super().__init__("this profile is not connected to a server: run 'tui-crm connect' first")


@dataclass(frozen=True, slots=True)
class ConnectReport:
    backend: str
    url: str
    user_id: str
    entities: list[str]


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """What `connect` needs beyond the server address (all optional but the auth mode)."""

    auth: str = "device"
    user: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    tenant: str | None = None
    authority: str | None = None
    save_password: bool = False


class SyncService:
    def __init__(
        self,
        session: Session,
        settings: Settings | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        page_size: int = 5000,
    ) -> None:
        self._session = session
        self._given_settings = settings
        self._policy = retry_policy
        self._timeout = timeout
        self._page_size = page_size
        self._engine: SyncEngine | None = None
        self.online = settings.online if settings is not None else False

    @property
    def _settings(self) -> Settings:
        """Loaded on first use: a Session is built before anyone needs the sync rules."""
        if self._given_settings is None:
            self._given_settings = Settings()
        return self._given_settings

    def configure(self, settings: Settings) -> None:
        """The caller's settings (CLI flags, the UI's Setup screen) replace the loaded ones."""
        self._given_settings = settings
        self.online = settings.online

    # -- connection --------------------------------------------------------

    def _client(self, url: str, *extra: str) -> HttpClient:
        return make_client([url, *extra], timeout=self._timeout, policy=self._policy)

    async def connect(
        self,
        backend: str,
        url: str,
        options: ConnectionOptions,
        *,
        on_device_code: DevicePromptCallback | None = None,
    ) -> ConnectReport:
        """Sign in, fetch metadata, store the binding; nothing is kept if any step fails."""
        if backend not in BACKENDS:
            raise DomainError(f"backend {backend!r} is not available yet (have: dataverse)")
        if options.auth not in AUTH_MODES:
            raise DomainError(f"unknown sign-in mode {options.auth!r}")
        check_url_safe(url)
        url = url.rstrip("/")
        http = self._client(url)
        try:
            authority = await self._authority(http, url, options)
            oauth = OAuthClient(http.client, authority, options.client_id or DEFAULT_CLIENT_ID)
            scope = default_scope(url, offline=options.auth != "client-credentials")
            tokens = await self._sign_in(oauth, scope, options, on_device_code)
            manager = TokenManager(oauth, scope, tokens)
            connector = DataverseConnector(url, http, BearerAuth(manager))
            user_id = await connector.authenticate()
            entities = await connector.fetch_metadata(SYNCED_ENTITIES)
        finally:
            await http.aclose()
        if not entities:
            raise ConnectionFailed("the server offers none of the tables this client syncs")
        credentials: dict[str, Any] = {
            "backend": backend,
            "url": url,
            "user": options.user,
            "auth": options.auth,
            "client_id": options.client_id or DEFAULT_CLIENT_ID,
            "tenant": options.tenant,
            "authority": authority,
            "scope": scope,
            "tokens": manager.tokens.to_json(),
            "user_id": user_id,
        }
        if options.auth == "client-credentials" and options.save_password:
            credentials["client_secret"] = options.client_secret

        def store(conn: Connection) -> None:
            with transaction(conn):
                save_entities(conn, entities, source=backend)
                ss.set_sync_enabled(conn, [e.name for e in entities])
                for entity in entities:
                    ss.clear_checkpoint(conn, entity.name)

        await self._session.run(store)
        await self._session.settings.set_save_password(options.save_password)
        await self._session.settings.set_credentials(
            {**credentials, "password": options.password if options.save_password else None}
        )
        return ConnectReport(backend, url, user_id, [e.name for e in entities])

    async def _authority(self, http: HttpClient, url: str, options: ConnectionOptions) -> str:
        if options.authority:
            authority = options.authority.rstrip("/")
            check_url_safe(authority)
            http.allow.allow_url(authority)
            return authority
        authority = await discover_authority(http.client, api_root(url))
        if options.tenant:
            authority = authority.rsplit("/", 1)[0] + "/" + options.tenant
        trust_authority(http.allow, authority, url)
        return authority

    async def _sign_in(
        self,
        oauth: OAuthClient,
        scope: str,
        options: ConnectionOptions,
        on_device_code: DevicePromptCallback | None,
    ) -> TokenSet:
        if options.auth == "password":
            if not options.user or options.password is None:
                raise AuthenticationFailed("password sign-in needs --user and a password")
            return await oauth.password(options.user, options.password, scope)
        if options.auth == "client-credentials":
            if not options.client_id or not options.client_secret:
                raise AuthenticationFailed("client credentials need --client-id and a secret")
            return await oauth.client_credentials(options.client_secret, scope)
        prompt = await oauth.device_code_start(scope)
        if on_device_code is not None:
            shown = on_device_code(prompt)
            if shown is not None:
                await shown
        return await oauth.device_code_poll(prompt)

    async def is_connected(self) -> bool:
        credentials = await self._session.settings.credentials()
        return bool(credentials.get("url") and credentials.get("tokens"))

    async def _open_connector(self) -> DataverseConnector:
        credentials = await self._session.settings.credentials()
        url = credentials.get("url")
        tokens = credentials.get("tokens")
        if not isinstance(url, str) or not isinstance(tokens, dict):
            raise NotConnected()
        authority = str(credentials.get("authority") or "")
        http = self._client(url, authority) if authority else self._client(url)
        oauth = OAuthClient(http.client, authority, str(credentials.get("client_id")))
        scope = str(credentials.get("scope") or default_scope(url))
        session = self._session

        async def persist(new: TokenSet) -> None:
            await session.settings.set_credentials({"tokens": new.to_json()})

        reauthenticate = self._reauthenticator(oauth, scope, credentials)
        manager = TokenManager(
            oauth, scope, TokenSet.from_json(tokens), persist, reauthenticate=reauthenticate
        )
        connector = DataverseConnector(url, http, BearerAuth(manager))
        connector.know_entities(await self._session.run(load_entities))
        return connector

    def _reauthenticator(
        self, oauth: OAuthClient, scope: str, credentials: dict[str, Any]
    ) -> Callable[[], Awaitable[TokenSet]] | None:
        """With a saved password (or secret) an expired session signs in again silently."""
        user, password = credentials.get("user"), credentials.get("password")
        secret = credentials.get("client_secret")
        if credentials.get("auth") == "password" and user and isinstance(password, str):
            return lambda: oauth.password(str(user), password, scope)
        if credentials.get("auth") == "client-credentials" and isinstance(secret, str):
            return lambda: oauth.client_credentials(secret, scope)
        return None

    # -- sync --------------------------------------------------------------

    def _plans(self, entities: list[EntityDef], wanted: Sequence[str] | None) -> list[EntityPlan]:
        plans = []
        for entity in entities:
            if wanted and entity.name not in wanted:
                continue
            rule = self._settings.sync.get(entity.name)
            plans.append(
                EntityPlan(
                    entity=entity,
                    filter=rule.filter if rule else "",
                    policy=ConflictPolicy(rule.policy) if rule else ConflictPolicy.MANUAL,
                )
            )
        return plans

    async def sync(
        self,
        entities: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """One run; returns the summary of CLI.md (`pulled`, `pushed`, … `seconds`)."""

        def catalog(conn: Connection) -> list[EntityDef]:
            enabled = set(ss.sync_enabled_entities(conn))
            return [e for e in load_entities(conn) if e.name in enabled]

        synced = await self._session.run(catalog)
        unknown = [name for name in entities or () if name not in {e.name for e in synced}]
        if unknown:
            raise DomainError(f"not a synced table: {', '.join(unknown)}")
        connector = await self._open_connector()
        engine = SyncEngine(
            self._session.run, connector, connector.http.counters, page_size=self._page_size
        )
        self._engine = engine
        try:
            return await engine.run(self._plans(synced, entities), progress)
        finally:
            self._engine = None
            await connector.aclose()

    def cancel(self) -> None:
        """Stop after the current page or push; what was committed stays."""
        if self._engine is not None:
            self._engine.cancel()

    async def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        return await self._session.run(lambda conn: ss.recent_runs(conn, limit))

    # -- conflicts ---------------------------------------------------------

    async def conflicts(self, *, open_only: bool = False) -> list[Conflict]:
        return await self._session.run(lambda conn: ss.list_conflicts(conn, open_only=open_only))

    async def resolve(
        self, conflict_id: int, take: str, merged: dict[str, Any] | None = None
    ) -> Conflict:
        """'server' drops the device edit, 'device' re-queues it, 'merged' pushes `merged`."""
        return await self._session.run(
            lambda conn: resolve_conflict(conn, conflict_id, take, merged)
        )

    # -- online mode -------------------------------------------------------

    async def get(self, entity: str, record_id: str) -> Record:
        """Online: the server's record (cached in the store); offline or unreachable: the store."""
        if self.online:
            try:
                fresh = await self._fetch_one(entity, record_id)
            except ConnectionFailed:
                self.online = False
            else:
                if fresh is not None:
                    await self._cache([fresh], entity)
        return await self._session.records.get(entity, record_id)

    async def _fetch_one(self, entity: str, record_id: str) -> RemoteRecord | None:
        connector = await self._open_connector()
        try:
            definition = await self._session.records.entity(entity)
            return await connector.get(definition, record_id)
        finally:
            await connector.aclose()

    async def query(
        self,
        entity: str,
        *,
        filter: str = "",
        order: str | None = None,
        descending: bool = False,
        top: int = 50,
    ) -> list[Record]:
        """Online: one server page, cached; falls back to the store when the server is away."""
        definition = await self._session.records.entity(entity)
        if self.online:
            try:
                connector = await self._open_connector()
                try:
                    remote = await connector.query(
                        definition, filter=filter, order=order, descending=descending, top=top
                    )
                finally:
                    await connector.aclose()
                await self._cache(remote, entity)
                return [await self._session.records.get(entity, r.id) for r in remote]
            except ConnectionFailed:
                self.online = False
        page = await self._session.records.list(entity, order=order, limit=top)
        return page.records

    async def _cache(self, remote: list[RemoteRecord], entity: str) -> None:
        def work(conn: Connection) -> None:
            definition = next(e for e in load_entities(conn) if e.name == entity)
            apply.cache_records(conn, definition, remote)

        await self._session.run(work)

    async def save(self, entity: str, record_id: str, values: dict[str, Any]) -> Record:
        """Online: write locally (outbox) and push this record now with If-Match.

        When the server cannot be reached the edit simply stays in the outbox
        and the service drops to offline mode: nothing is lost.
        """
        record = await self._session.records.update(entity, record_id, values)
        if not self.online:
            return record
        try:
            await self._push_one(entity, record_id)
        except ConnectionFailed:
            self.online = False
        return await self._session.records.get(entity, record_id)

    async def push_record(self, entity: str, record_id: str) -> None:
        """Send this record's pending change now (online saves); ConnectionFailed if away."""
        await self._push_one(entity, record_id)

    async def _push_one(self, entity: str, record_id: str) -> None:
        definition = await self._session.records.entity(entity)
        groups = [
            g
            for g in await self._session.run(apply.pending_groups)
            if g.entity == entity and g.record_id == record_id
        ]
        if not groups:
            return
        group = groups[0]
        connector = await self._open_connector()
        try:
            await self._session.run(lambda conn: apply.begin_push(conn, group))
            try:
                result = await connector.push(
                    definition,
                    PushOp(entity, record_id, group.op, group.fields, group.base_version),
                )
            except DomainError as exc:
                reason = str(exc)
                await self._session.run(lambda conn: apply.release_in_flight(conn, group, reason))
                raise
            policy = self._plans([definition], None)[0].policy
            await self._session.run(
                lambda conn: apply.apply_push_result(conn, definition, group, result, policy)
            )
        finally:
            await connector.aclose()
