"""Microsoft identity platform endpoints, as a Dataverse client meets them.

Served under `/{tenant}/oauth2/v2.0/devicecode|token` and
`/{tenant}/v2.0/.well-known/openid-configuration` on the emulator's own origin,
with Entra's error shape (HTTP 400, `error`, `error_description` with an AADSTS
code, `error_codes`, ...). Access tokens are JWT-shaped and expire; the Web
API checks them against this registry. Refresh tokens rotate (a new one is
issued on each use) but, as with Entra, a used one stays valid until it
expires or is revoked, so a client killed mid-refresh can still recover.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MonotonicClock = Callable[[], float]

_USER_CODE_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class User:
    """A sign-in identity and the systemuser row it acts as."""

    id: str
    username: str
    password: str | None
    fullname: str
    application: bool = False


@dataclass
class AccessToken:
    user: User
    expires_at: float
    resource: str


@dataclass
class RefreshGrant:
    user: User
    client_id: str
    scope: str
    expires_at: float


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    interval: int
    last_poll: float | None = None
    state: str = "pending"  # pending | approved | declined | redeemed
    user: User | None = None


@dataclass
class TokenError(Exception):
    """An OAuth error response: status, `error`, AADSTS code and text."""

    error: str
    aadsts: int
    description: str
    status: int = 400

    def body(self) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace = str(uuid.uuid4())
        correlation = str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace} "
                f"Correlation ID: {correlation} Timestamp: {now}"
            ),
            "error_codes": [self.aadsts],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }


@dataclass
class IdentitySettings:
    token_lifetime: int = 3599
    refresh_lifetime: int = 90 * 24 * 3600
    device_code_lifetime: int = 900
    device_code_interval: int = 5
    auto_approve: bool = False
    client_secret: str = "demo-secret"
    decline_error: str = "authorization_declined"
    tenant_id: str = "8f6c1e2a-3b4d-4e5f-9a0b-1c2d3e4f5a6b"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Identity:
    """Users, issued tokens and pending device codes. Thread-safe."""

    settings: IdentitySettings
    clock: MonotonicClock = time.monotonic
    users: dict[str, User] = field(default_factory=dict)
    application_user: User | None = None
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_grants: dict[str, RefreshGrant] = field(default_factory=dict)
    device_grants: dict[str, DeviceGrant] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    busy_polls: int = 0
    """The next this many polls of a pending code answer `slow_down` whatever their pace."""
    _signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def add_user(self, user: User) -> None:
        with self.lock:
            if user.application:
                self.application_user = user
            else:
                self.users[user.username.lower()] = user

    # --- the Web API side -----------------------------------------------------

    def user_for(self, bearer: str) -> tuple[User | None, str]:
        """The user behind a bearer token, or None and why ('missing' / 'invalid' / 'expired')."""
        with self.lock:
            token = self.tokens.get(bearer)
            if token is None:
                return None, "invalid"
            if self.clock() >= token.expires_at:
                return None, "expired"
            return token.user, ""

    def expire_access_tokens(self) -> None:
        with self.lock:
            now = self.clock()
            for token in self.tokens.values():
                token.expires_at = min(token.expires_at, now)

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh_grants.clear()

    # --- device code ----------------------------------------------------------

    def start_device_code(self, client_id: str, scope: str, resource: str) -> DeviceGrant:
        check_scope(scope, resource, app_only=False)
        with self.lock:
            grant = DeviceGrant(
                device_code=_b64(secrets.token_bytes(48)),
                user_code="".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9)),
                client_id=client_id,
                scope=scope,
                expires_at=self.clock() + self.settings.device_code_lifetime,
                interval=self.settings.device_code_interval,
            )
            if self.settings.auto_approve:
                grant.state = "approved"
                grant.user = self.default_user()
            self.device_grants[grant.device_code] = grant
            return grant

    def default_user(self) -> User:
        return next(iter(self.users.values()))

    def pending_user_codes(self) -> list[str]:
        with self.lock:
            return [g.user_code for g in self.device_grants.values() if g.state == "pending"]

    def decide_device_code(
        self, user_code: str | None, *, approve: bool, user: User | None = None
    ) -> int:
        """Approve or decline pending codes (all of them when `user_code` is None)."""
        decided = 0
        with self.lock:
            for grant in self.device_grants.values():
                if grant.state != "pending":
                    continue
                if user_code is not None and grant.user_code != user_code.strip().upper():
                    continue
                grant.state = "approved" if approve else "declined"
                grant.user = user or self.default_user()
                decided += 1
        return decided

    def expire_device_codes(self) -> None:
        with self.lock:
            now = self.clock()
            for grant in self.device_grants.values():
                grant.expires_at = min(grant.expires_at, now)

    def poll_device_code(self, device_code: str, client_id: str) -> dict[str, Any]:
        with self.lock:
            grant = self.device_grants.get(device_code)
            if grant is None or grant.state == "redeemed" or grant.client_id != client_id:
                raise TokenError(
                    "bad_verification_code",
                    70018,
                    "The provided value for the input parameter 'device_code' is not valid.",
                )
            now = self.clock()
            if now >= grant.expires_at:
                raise TokenError(
                    "expired_token",
                    70019,
                    "Verification code expired.",
                )
            if grant.state == "declined":
                raise TokenError(
                    self.settings.decline_error,
                    65004,
                    "The user declined the sign-in request.",
                )
            too_fast = grant.last_poll is not None and now - grant.last_poll < grant.interval
            grant.last_poll = now
            busy = grant.state == "pending" and self.busy_polls > 0
            if busy:
                self.busy_polls -= 1
            if too_fast or busy:
                grant.interval += 5
                raise TokenError(
                    "slow_down",
                    70016,
                    "Polling too fast: wait the interval between token requests.",
                )
            if grant.state == "pending" or grant.user is None:
                raise TokenError(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            grant.state = "redeemed"
            return self.issue(grant.user, grant.client_id, grant.scope)

    # --- other grants ---------------------------------------------------------

    def password_grant(
        self, username: str, password: str, client_id: str, scope: str, resource: str
    ) -> dict[str, Any]:
        check_scope(scope, resource, app_only=False)
        with self.lock:
            user = self.users.get(username.lower())
            if (
                user is None
                or user.password is None
                or not hmac.compare_digest(user.password.encode(), password.encode())
            ):
                raise TokenError(
                    "invalid_grant",
                    50126,
                    "Error validating credentials due to invalid username or password.",
                )
            return self.issue(user, client_id, scope)

    def client_credentials(
        self, client_id: str, secret: str, scope: str, resource: str
    ) -> dict[str, Any]:
        check_scope(scope, resource, app_only=True)
        with self.lock:
            if self.application_user is None or not hmac.compare_digest(
                secret.encode(), self.settings.client_secret.encode()
            ):
                raise TokenError(
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client secret ID.",
                    status=401,
                )
            return self.issue(self.application_user, client_id, scope, refresh=False)

    def refresh(self, refresh_token: str, client_id: str, scope: str | None) -> dict[str, Any]:
        with self.lock:
            grant = self.refresh_grants.get(refresh_token)
            if grant is None:
                raise TokenError(
                    "invalid_grant",
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth "
                    "token is needed.",
                )
            if self.clock() >= grant.expires_at:
                raise TokenError(
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity.",
                )
            if grant.client_id != client_id:
                raise TokenError(
                    "invalid_grant",
                    70000,
                    "The provided refresh token was issued to another client.",
                )
            return self.issue(grant.user, client_id, scope or grant.scope)

    def _access_token(
        self, user: User, client_id: str, resource: str, now: int, lifetime: int
    ) -> str:
        """Shaped and sized like Entra's RS256 tokens (a 2048-bit signature is 256 bytes);
        the emulator signs with an HMAC-derived filler: clients must treat access tokens
        as opaque, as Microsoft says, and this server checks them by lookup."""
        thumbprint = _b64(hashlib.sha1(self._signing_key).digest())
        header = _b64(
            json.dumps(
                {"typ": "JWT", "alg": "RS256", "x5t": thumbprint, "kid": thumbprint},
                separators=(",", ":"),
            ).encode()
        )
        claims = _entra_claims(user, client_id, resource, self.settings.tenant_id, now, lifetime)
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signed = f"{header}.{payload}".encode()
        signature = b"".join(
            hmac.new(self._signing_key, bytes([block]) + signed, hashlib.sha256).digest()
            for block in range(8)
        )
        return f"{header}.{payload}.{_b64(signature)}"

    def issue(
        self, user: User, client_id: str, scope: str, *, refresh: bool = True
    ) -> dict[str, Any]:
        """A token response; a refresh token only when `offline_access` was asked for."""
        scopes = scope.split()
        resource = next((s.rsplit("/", 1)[0] for s in scopes if "/" in s), "")
        now_wall = int(time.time())
        lifetime = self.settings.token_lifetime
        access = self._access_token(user, client_id, resource, now_wall, lifetime)
        header, payload, signature = access.split(".")
        self.tokens[access] = AccessToken(user, self.clock() + lifetime, resource)
        granted = " ".join(s for s in scopes if s not in ("offline_access", "openid", "profile"))
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": granted,
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        }
        if refresh and "offline_access" in scopes:
            token = _b64(secrets.token_bytes(64))
            self.refresh_grants[token] = RefreshGrant(
                user, client_id, scope, self.clock() + self.settings.refresh_lifetime
            )
            body["refresh_token"] = token
        if "openid" in scopes:
            body["id_token"] = f"{header}.{payload}.{signature}"
        return body


def _entra_claims(
    user: User, client_id: str, resource: str, tenant_id: str, now: int, lifetime: int
) -> dict[str, Any]:
    """The claim set of a v1 Entra access token for Dataverse, so tokens weigh what real
    ones do (1.5-2.5 KB): every quiet-sync request carries one, and the bytes budget
    must be measured with a realistic `Authorization` header, not a toy one."""
    given, _, family = user.fullname.partition(" ")
    claims: dict[str, Any] = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "acct": 0,
        "acr": "1",
        "aio": _b64(secrets.token_bytes(114)),
        "amr": ["pwd", "mfa"],
        "appid": client_id,
        "appidacr": "0",
        "family_name": family,
        "given_name": given,
        "idtyp": "app" if user.application else "user",
        "ipaddr": "203.0.113.7",
        "name": user.fullname,
        "oid": user.id,
        "puid": secrets.token_hex(8).upper(),
        "rh": "1.A" + _b64(secrets.token_bytes(66)) + ".",
        "scp": None if user.application else "user_impersonation",
        "sid": str(uuid.uuid4()),
        "sub": _b64(secrets.token_bytes(32)),
        "tenant_region_scope": "EU",
        "tid": tenant_id,
        "unique_name": user.username,
        "upn": user.username,
        "uti": _b64(secrets.token_bytes(16)),
        "ver": "1.0",
        "wids": ["b79fbf4d-3ef9-4689-8143-76b194e85509"],
        "xms_idrel": "1 26",
        "xms_ftd": _b64(secrets.token_bytes(48)),
    }
    return {k: v for k, v in claims.items() if v is not None}


def check_scope(scope: str, resource: str, *, app_only: bool) -> None:
    """The scope must name this org (`{url}/.default` or `/user_impersonation`)."""
    scopes = scope.split()
    resource_scopes = [s for s in scopes if "/" in s]
    if not resource_scopes:
        raise TokenError(
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input parameter naming the resource.",
        )
    for item in resource_scopes:
        base, _, permission = item.rpartition("/")
        if base.rstrip("/").lower() != resource.rstrip("/").lower():
            raise TokenError(
                "invalid_resource",
                500011,
                f"The resource principal named {base} was not found in the tenant.",
            )
        allowed = (".default",) if app_only else (".default", "user_impersonation")
        if permission not in allowed:
            raise TokenError(
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid: {item}.",
            )
