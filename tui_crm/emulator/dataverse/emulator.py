"""`DataverseEmulator`: one object that owns the org's data, sign-in, faults and server.

Tests drive the server side through its methods (changes made "as another
user", approving a device code, expiring tokens, injecting faults) while a
client talks to it over real loopback HTTP.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from tui_crm.emulator.dataverse.batch import BatchRunner
from tui_crm.emulator.dataverse.budget import RequestBudget
from tui_crm.emulator.dataverse.data import DataStore
from tui_crm.emulator.dataverse.errors import ODataError
from tui_crm.emulator.dataverse.faults import RANDOM_KINDS, STALL_SECONDS, FaultPlan
from tui_crm.emulator.dataverse.identity import Identity, IdentitySettings, User
from tui_crm.emulator.dataverse.metadata import TABLES_BY_NAME, TABLES_BY_SET, Table
from tui_crm.emulator.dataverse.metadata_api import handle_metadata
from tui_crm.emulator.dataverse.payload import new_id, parse_payload
from tui_crm.emulator.dataverse.render import row_document
from tui_crm.emulator.dataverse.routes import Routes
from tui_crm.emulator.dataverse.seed import SeedSpec, seed
from tui_crm.emulator.dataverse.webapi import WebApi
from tui_crm.emulator.server import BackgroundServer

API_PATH = "/api/data/v9.2/"


def _stable_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.tui-crm-emulator"))


@dataclass
class DataverseConfig:
    """Everything the command line and tests can set. Defaults match the issue."""

    host: str = "127.0.0.1"
    port: int = 0
    records: int = 0
    seed: int = 0
    centre_latitude: float = 48.1486
    centre_longitude: float = 17.1077
    radius_km: float = 30.0
    username: str = "demo@example.com"
    password: str = "demo"
    other_username: str = "colleague@example.com"
    client_secret: str = "demo-secret"
    token_lifetime: int = 3599
    refresh_lifetime: int = 90 * 24 * 3600
    device_code_lifetime: int = 900
    device_code_interval: int = 5
    auto_approve: bool = False
    decline_error: str = "authorization_declined"
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = RANDOM_KINDS
    fault_seed: int = 0
    latency_ms: float = 0.0
    stall_seconds: float = STALL_SECONDS
    retry_after_seconds: int = 1
    rate_limit: int = 6000
    rate_window_seconds: float = 300.0
    authority_origin: str = ""
    """Where the 401 challenge sends clients to sign in; empty = this server (tests set
    another host to check that clients refuse an authority they were not given)."""


class DataverseEmulator:
    """A Dataverse org on loopback. See `tui_crm/emulator/__init__.py` for the API."""

    def __init__(self, config: DataverseConfig | None = None, **overrides: Any) -> None:
        config = config or DataverseConfig()
        for name, value in overrides.items():
            if not hasattr(config, name):
                raise TypeError(f"unknown emulator setting {name!r}")
            setattr(config, name, value)
        self.config = config
        self.store = DataStore()
        self.identity = Identity(
            IdentitySettings(
                token_lifetime=config.token_lifetime,
                refresh_lifetime=config.refresh_lifetime,
                device_code_lifetime=config.device_code_lifetime,
                device_code_interval=config.device_code_interval,
                auto_approve=config.auto_approve,
                client_secret=config.client_secret,
                decline_error=config.decline_error,
            )
        )
        self.faults = FaultPlan(
            rate=config.fault_rate,
            kinds=config.fault_kinds,
            seed=config.fault_seed,
            latency_ms=config.latency_ms,
            stall_seconds=config.stall_seconds,
            retry_after_seconds=config.retry_after_seconds,
        )
        self.budget = RequestBudget(config.rate_limit, config.rate_window_seconds)
        self.api = WebApi(
            self.store,
            organization_id=_stable_id("organization"),
            business_unit_id=_stable_id("businessunit"),
        )
        self.api.metadata_handler = handle_metadata
        self.batch = BatchRunner(self.api, self.store)
        self._requests: Counter[str] = Counter()
        self._requests_lock = threading.Lock()
        self._request_log: deque[str] = deque(maxlen=2000)
        self.user = self.add_user(config.username, config.password, "Demo User")
        self.other_user = self.add_user(config.other_username, None, "Colleague User")
        self.application_user = self._system_user(
            User(
                _stable_id("application"),
                "application@example.com",
                None,
                "Integration Application",
                application=True,
            )
        )
        seed(
            self.store,
            SeedSpec(
                records=config.records,
                seed=config.seed,
                centre_latitude=config.centre_latitude,
                centre_longitude=config.centre_longitude,
                radius_km=config.radius_km,
            ),
            owner_id=self.user.id,
        )
        self._server: BackgroundServer | None = None
        self.url = ""

    # --- users ------------------------------------------------------------------

    def _system_user(self, user: User) -> User:
        first, _, last = user.fullname.partition(" ")
        self.store.insert(
            "systemuser",
            user.id,
            {
                "firstname": first,
                "lastname": last,
                "internalemailaddress": user.username,
                "domainname": user.username,
            },
            {},
            user_id=user.id,
        )
        self.identity.add_user(user)
        return user

    def add_user(self, username: str, password: str | None, fullname: str = "") -> User:
        """Another account that can sign in (password None: only usable from Python)."""
        user = User(_stable_id(username.lower()), username, password, fullname or username)
        return self._system_user(user)

    # --- serving ----------------------------------------------------------------

    def app(self) -> web.Application:
        return Routes(self).build()

    def start(self) -> str:
        """Serve on loopback from a background thread; returns the base URL."""
        if self._server is None:
            self._server = BackgroundServer(self.app, self.config.host, self.config.port)
            self.url = self._server.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> DataverseEmulator:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    @property
    def tenant_id(self) -> str:
        return self.identity.settings.tenant_id

    @property
    def authority(self) -> str:
        """What a client discovers from the 401 challenge (`.../{tenant id}`)."""
        return f"{self.url}/{self.tenant_id}"

    @property
    def scope(self) -> str:
        return f"{self.url}/.default"

    def count_request(self, path: str, target: str | None = None) -> None:
        with self._requests_lock:
            self._requests[path] += 1
            if target is not None:
                self._request_log.append(target)

    @property
    def request_log(self) -> list[str]:
        """The last Web API requests as `METHOD /path?query` (decoded), oldest first:
        lets tests check what a client asked for ($filter, $select, links followed)."""
        with self._requests_lock:
            return list(self._request_log)

    def clear_request_log(self) -> None:
        with self._requests_lock:
            self._request_log.clear()

    @property
    def request_counts(self) -> dict[str, int]:
        """Web API requests served so far, by path (faulted ones included)."""
        with self._requests_lock:
            return dict(self._requests)

    @property
    def total_requests(self) -> int:
        with self._requests_lock:
            return sum(self._requests.values())

    # --- data, as another user --------------------------------------------------

    def _table(self, entity: str) -> Table:
        table = TABLES_BY_NAME.get(entity) or TABLES_BY_SET.get(entity)
        if table is None:
            raise KeyError(f"no table {entity!r}")
        return table

    def _actor(self, as_user: User | None) -> User:
        return as_user or self.other_user

    def create(self, entity: str, body: dict[str, Any], *, as_user: User | None = None) -> str:
        """Create a record from a Web API body (`x@odata.bind` for lookups); returns its id."""
        table = self._table(entity)
        payload = parse_payload(table, body, creating=True)
        record_id = payload.record_id or new_id()
        defaults = self.api._defaults(table)
        self.store.insert(
            table.logical,
            record_id,
            payload.values,
            payload.lookups,
            user_id=self._actor(as_user).id,
            defaults=defaults,
        )
        return record_id

    def update(
        self, entity: str, record_id: str, body: dict[str, Any], *, as_user: User | None = None
    ) -> str:
        """Change columns of a record; returns the new etag."""
        table = self._table(entity)
        payload = parse_payload(table, body, creating=False)
        row = self.store.update(
            table.logical,
            record_id.lower(),
            payload.values,
            payload.lookups,
            user_id=self._actor(as_user).id,
        )
        return row.etag

    def delete(self, entity: str, record_id: str) -> None:
        self.store.delete(self._table(entity).logical, record_id.lower())

    def get(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """A record as a GET without $select returns it (with `@odata.etag`), or None."""
        table = self._table(entity)
        with self.store.lock:
            row = self.store.find(table.logical, record_id.lower())
            return None if row is None else row_document(self.store, table, row, None)

    def records(self, entity: str) -> list[dict[str, Any]]:
        table = self._table(entity)
        with self.store.lock:
            return [
                row_document(self.store, table, row, None)
                for row in self.store.scan(table.logical, None)
            ]

    def count(self, entity: str) -> int:
        return self.store.count(self._table(entity).logical)

    # --- sign-in ------------------------------------------------------------------

    def pending_user_codes(self) -> list[str]:
        return self.identity.pending_user_codes()

    def approve_device_code(self, user_code: str | None = None, *, user: User | None = None) -> int:
        """Approve one pending code (or all); returns how many were approved."""
        return self.identity.decide_device_code(user_code, approve=True, user=user)

    def decline_device_code(self, user_code: str | None = None) -> int:
        return self.identity.decide_device_code(user_code, approve=False)

    def expire_access_tokens(self) -> None:
        self.identity.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        self.identity.revoke_refresh_tokens()

    def expire_device_codes(self) -> None:
        self.identity.expire_device_codes()

    def slow_down_device_polls(self, polls: int) -> None:
        """The next `polls` polls of a pending code get `slow_down` (RFC 8628 §3.5), as a
        loaded server answers; each adds 5 s to that code's interval, as clients do."""
        with self.identity.lock:
            self.identity.busy_polls = polls

    # --- traffic ------------------------------------------------------------------

    def reset_budget(self) -> None:
        self.budget.reset()

    def set_rate_limit(self, requests: int, window_seconds: float) -> None:
        self.budget.configure(requests, window_seconds)
        self.budget.reset()

    def set_fault_rate(self, rate: float, kinds: tuple[str, ...] | None = None) -> None:
        self.faults.configure(rate, kinds)

    def queue_faults(self, *kinds: str) -> None:
        self.faults.queue(*kinds)

    def set_latency(self, milliseconds: float) -> None:
        self.faults.latency_ms = milliseconds

    @property
    def faults_injected(self) -> dict[str, int]:
        return dict(self.faults.injected)

    def expire_delta_tokens(self) -> None:
        """Every delta token issued so far is refused from now on (as past retention)."""
        with self.store.lock:
            self.store.version += 1
            self.api.oldest_delta_version = self.store.version


__all__ = ["DataverseConfig", "DataverseEmulator", "ODataError"]
