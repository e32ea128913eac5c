"""Microsoft identity platform sign-in: device code, password, client credentials, refresh.

Tokens are handed back to the caller (who stores them encrypted in the
profile) and are never logged or put into exception text: error messages
carry only the OAuth `error` code and the AADSTS number.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tui_crm.connectors.http import IDEMPOTENT_EXTENSION, HostAllowList, host_of
from tui_crm.domain.errors import AuthenticationFailed, ConnectionFailed

DEFAULT_CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
"""Microsoft's public sample client for Dataverse (used by its own samples and tools)."""

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_MARGIN_SECONDS = 120.0
"""Refresh this long before expiry, so a long page fetch never starts with a dying token."""

MICROSOFT_LOGIN_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    expires_at: float
    refresh_token: str | None = None
    scope: str = ""

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        return self.expires_at - (time.time() if now is None else now) <= seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSet:
        return cls(
            access_token=str(data["access_token"]),
            expires_at=float(data["expires_at"]),
            refresh_token=data.get("refresh_token"),
            scope=str(data.get("scope", "")),
        )

    def __repr__(self) -> str:  # tokens never reach a log through repr()
        return f"TokenSet(expires_at={self.expires_at!r}, refresh={self.refresh_token is not None})"


@dataclass(frozen=True, slots=True)
class DeviceCodePrompt:
    """What the user must see: a short code and where to type it."""

    user_code: str
    verification_uri: str
    message: str
    device_code: str
    interval: float
    expires_at: float

    def __repr__(self) -> str:
        return f"DeviceCodePrompt(user_code={self.user_code!r}, uri={self.verification_uri!r})"


_AUTH_URI = re.compile(r'authorization_uri\s*=\s*"?([^",\s]+)"?', re.IGNORECASE)


def authority_from_www_authenticate(header: str) -> str:
    """`Bearer authorization_uri=…/{tenant}/oauth2/authorize, resource_id=…` → authority."""
    match = _AUTH_URI.search(header)
    if not match:
        raise AuthenticationFailed("server did not say where to sign in; give --authority")
    uri = match.group(1)
    parts = urlsplit(uri)
    path = parts.path
    for suffix in ("/oauth2/v2.0/authorize", "/oauth2/authorize"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    if not parts.scheme or not parts.netloc or not path.strip("/"):
        raise AuthenticationFailed("server named an unusable sign-in address; give --authority")
    return f"{parts.scheme}://{parts.netloc}{path}"


async def discover_authority(client: httpx.AsyncClient, api_root: str) -> str:
    """Ask the Web API unauthenticated; its 401 names the tenant's authority, as real clients do."""
    response = await client.get(
        api_root.rstrip("/") + "/WhoAmI", headers={"Accept": "application/json"}
    )
    header = response.headers.get("WWW-Authenticate")
    if response.status_code != 401 or not header:
        raise AuthenticationFailed(
            f"server answered {response.status_code} instead of asking to sign in; give --authority"
        )
    return authority_from_www_authenticate(header)


def trust_authority(allow: HostAllowList, authority: str, server_url: str) -> None:
    """Allow the authority host only if it is Microsoft's login or the server itself.

    A discovered authority comes from a server response; accepting any host
    would let a hostile server redirect the user's password elsewhere.
    """
    host = host_of(authority)
    if host in MICROSOFT_LOGIN_HOSTS or host == host_of(server_url):
        allow.allow_url(authority)
        return
    raise AuthenticationFailed(f"refusing sign-in authority at {host}: not a Microsoft login host")


def default_scope(resource_url: str, *, offline: bool = True) -> str:
    parts = urlsplit(resource_url)
    resource = f"{parts.scheme}://{parts.netloc}"
    return f"{resource}/.default offline_access" if offline else f"{resource}/.default"


class OAuthClient:
    """The token endpoint conversations; one instance per authority and client id."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        authority: str,
        client_id: str = DEFAULT_CLIENT_ID,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
    ) -> None:
        self._client = client
        self._authority = authority.rstrip("/")
        self._client_id = client_id
        self._sleep = sleep
        self._clock = clock

    @property
    def token_url(self) -> str:
        return f"{self._authority}/oauth2/v2.0/token"

    async def _post(self, url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = await self._client.post(
            url,
            data=form,
            headers={"Accept": "application/json"},
            extensions={IDEMPOTENT_EXTENSION: True},
        )
        try:
            body = response.json()
        except ValueError:
            raise AuthenticationFailed(
                f"sign-in server answered {response.status_code} without JSON"
            ) from None
        if not isinstance(body, dict):
            raise AuthenticationFailed("sign-in server answered with unexpected JSON")
        return response.status_code, body

    def _tokens(self, body: dict[str, Any], previous_refresh: str | None = None) -> TokenSet:
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthenticationFailed("sign-in server answered without an access token")
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        refresh = body.get("refresh_token")
        return TokenSet(
            access_token=access,
            expires_at=self._clock() + lifetime,
            refresh_token=refresh if isinstance(refresh, str) else previous_refresh,
            scope=str(body.get("scope", "")),
        )

    async def _token(self, form: dict[str, str], previous_refresh: str | None = None) -> TokenSet:
        status, body = await self._post(self.token_url, {"client_id": self._client_id, **form})
        if status == 200:
            return self._tokens(body, previous_refresh)
        raise AuthenticationFailed(_error_line(body, status))

    async def password(self, user: str, password: str, scope: str) -> TokenSet:
        return await self._token(
            {"grant_type": "password", "username": user, "password": password, "scope": scope}
        )

    async def client_credentials(self, secret: str, scope: str) -> TokenSet:
        return await self._token(
            {"grant_type": "client_credentials", "client_secret": secret, "scope": scope}
        )

    async def refresh(self, tokens: TokenSet, scope: str) -> TokenSet:
        if not tokens.refresh_token:
            raise AuthenticationFailed("session expired: connect again to sign in")
        return await self._token(
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "scope": scope},
            previous_refresh=tokens.refresh_token,
        )

    async def device_code_start(self, scope: str) -> DeviceCodePrompt:
        status, body = await self._post(
            f"{self._authority}/oauth2/v2.0/devicecode",
            {"client_id": self._client_id, "scope": scope},
        )
        if status != 200:
            raise AuthenticationFailed(_error_line(body, status))
        try:
            return DeviceCodePrompt(
                user_code=str(body["user_code"]),
                verification_uri=str(body.get("verification_uri") or body["verification_url"]),
                message=str(body.get("message", "")),
                device_code=str(body["device_code"]),
                interval=float(body.get("interval", 5)),
                expires_at=self._clock() + float(body.get("expires_in", 900)),
            )
        except (KeyError, TypeError, ValueError):
            raise AuthenticationFailed("sign-in server sent an incomplete device code") from None

    async def device_code_poll(self, prompt: DeviceCodePrompt) -> TokenSet:
        """Poll no faster than the interval (RFC 8628 §3.5); `slow_down` adds 5 s for good."""
        interval = max(prompt.interval, 0.0)
        while True:
            await self._sleep(interval)
            if self._clock() > prompt.expires_at:
                raise AuthenticationFailed("the sign-in code expired: start again")
            status, body = await self._post(
                self.token_url,
                {
                    "client_id": self._client_id,
                    "grant_type": DEVICE_CODE_GRANT,
                    "device_code": prompt.device_code,
                },
            )
            if status == 200:
                return self._tokens(body)
            error = body.get("error")
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5.0
                continue
            if error == "expired_token":
                raise AuthenticationFailed("the sign-in code expired: start again")
            if error in ("access_denied", "authorization_declined"):
                raise AuthenticationFailed("sign-in was declined")
            raise AuthenticationFailed(_error_line(body, status))


_AADSTS = re.compile(r"AADSTS\d+")


def _error_line(body: dict[str, Any], status: int) -> str:
    error = body.get("error")
    if isinstance(error, str) and error:
        code = _AADSTS.search(str(body.get("error_description", "")))
        suffix = f" ({code.group(0)})" if code else ""
        if error == "invalid_grant":
            return f"sign-in refused: wrong user name or password, or the session expired{suffix}"
        return f"sign-in refused: {error}{suffix}"
    return f"sign-in server answered {status}"


class TokenManager:
    """Keeps a valid access token: refreshes before expiry and after a 401, reports rotations.

    `on_tokens` receives every new TokenSet so the caller can persist the
    rotated refresh token at once (the old one may be invalid after use).
    """

    def __init__(
        self,
        oauth: OAuthClient,
        scope: str,
        tokens: TokenSet,
        on_tokens: Callable[[TokenSet], Awaitable[None]] | None = None,
        *,
        clock: Clock = time.time,
        reauthenticate: Callable[[], Awaitable[TokenSet]] | None = None,
    ) -> None:
        self._oauth = oauth
        self._scope = scope
        self._tokens = tokens
        self._on_tokens = on_tokens
        self._clock = clock
        self._reauthenticate = reauthenticate
        self._lock = asyncio.Lock()

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    async def access_token(self, *, force_refresh: bool = False, stale: str | None = None) -> str:
        async with self._lock:
            if stale is not None and self._tokens.access_token != stale:
                return self._tokens.access_token
            if force_refresh or self._tokens.expires_within(REFRESH_MARGIN_SECONDS, self._clock()):
                await self._renew()
            return self._tokens.access_token

    async def _renew(self) -> None:
        try:
            if self._tokens.refresh_token:
                new = await self._oauth.refresh(self._tokens, self._scope)
            elif self._reauthenticate is not None:
                new = await self._reauthenticate()
            else:
                raise AuthenticationFailed("session expired: connect again to sign in")
        except AuthenticationFailed:
            if self._reauthenticate is None or not self._tokens.refresh_token:
                raise
            new = await self._reauthenticate()
        self._tokens = new
        if self._on_tokens is not None:
            await self._on_tokens(new)


class BearerAuth(httpx.Auth):
    """Adds the bearer token; on a 401 refreshes once and repeats the request."""

    def __init__(self, manager: TokenManager) -> None:
        self._manager = manager

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        raise ConnectionFailed("the connector is async only")

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        token = await self._manager.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            token = await self._manager.access_token(force_refresh=True, stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
