"""The aiohttp side: identity endpoints, the Web API catch-all, faults, auth, budget, gzip.

Everything protocol-specific lives in the modules this one calls; here are only
the things that need the HTTP connection itself (resetting it, truncating a
body, stalling, compressing).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import socket
import struct
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from tui_crm.emulator.dataverse.errors import (
    THROTTLED_REQUESTS,
    UNAVAILABLE,
    ODataError,
)
from tui_crm.emulator.dataverse.identity import DEVICE_CODE_GRANT, TokenError
from tui_crm.emulator.dataverse.webapi import ApiRequest, ApiResponse

if TYPE_CHECKING:
    from tui_crm.emulator.dataverse.emulator import DataverseEmulator

GZIP_MIN_BYTES = 1024
_EXECUTOR_BYTES = 256 * 1024


def origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})},
    )


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def _reset(request: web.Request) -> None:
    """Close the connection with a TCP reset, as a dropped link or a killed proxy does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _gone() -> web.Response:
    """The answer to a client that has hung up: aiohttp drops it without a traceback."""
    return web.Response(status=499)


class Routes:
    def __init__(self, emulator: DataverseEmulator) -> None:
        self.emulator = emulator

    def build(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/{tenant}/oauth2/v2.0/devicecode", self.devicecode)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.openid)
        app.router.add_get("/{tenant}/oauth2/authorize", self.authorize)
        app.router.add_get("/{tenant}/oauth2/v2.0/authorize", self.authorize)
        app.router.add_get("/devicelogin", self.devicelogin_page)
        app.router.add_post("/devicelogin", self.devicelogin_submit)
        app.router.add_route("*", r"/api/data/{version:v9\.\d}/{tail:.*}", self.api)
        app.router.add_route("*", r"/api/data/{version:v9\.\d}", self.api)
        return app

    # --- identity ----------------------------------------------------------------

    async def devicecode(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id = str(form.get("client_id", ""))
        if not client_id:
            return self._token_error(
                TokenError(
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_id'.",
                )
            )
        try:
            grant = self.emulator.identity.start_device_code(
                client_id, str(form.get("scope", "")), origin(request)
            )
        except TokenError as error:
            return self._token_error(error)
        uri = f"{origin(request)}/devicelogin"
        return _json(
            200,
            {
                "user_code": grant.user_code,
                "device_code": grant.device_code,
                "verification_uri": uri,
                "expires_in": self.emulator.identity.settings.device_code_lifetime,
                "interval": grant.interval,
                "message": (
                    f"To sign in, use a web browser to open the page {uri} and enter the code "
                    f"{grant.user_code} to authenticate."
                ),
            },
        )

    def _token_error(self, error: TokenError) -> web.Response:
        return _json(error.status, error.body())

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: str(v) for k, v in form.items()}
        grant = fields.get("grant_type", "")
        client_id = fields.get("client_id", "")
        identity = self.emulator.identity
        resource = origin(request)
        try:
            if not client_id:
                raise TokenError(
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_id'.",
                )
            if grant == DEVICE_CODE_GRANT:
                body = identity.poll_device_code(fields.get("device_code", ""), client_id)
            elif grant == "password":
                body = identity.password_grant(
                    fields.get("username", ""),
                    fields.get("password", ""),
                    client_id,
                    fields.get("scope", ""),
                    resource,
                )
            elif grant == "client_credentials":
                body = identity.client_credentials(
                    client_id, fields.get("client_secret", ""), fields.get("scope", ""), resource
                )
            elif grant == "refresh_token":
                body = identity.refresh(
                    fields.get("refresh_token", ""), client_id, fields.get("scope")
                )
            else:
                raise TokenError(
                    "unsupported_grant_type",
                    70003,
                    f"The app requested an unsupported grant type '{grant}'.",
                )
        except TokenError as error:
            return self._token_error(error)
        return _json(200, body)

    async def openid(self, request: web.Request) -> web.Response:
        base = origin(request)
        tenant = request.match_info["tenant"]
        tenant_id = self.emulator.identity.settings.tenant_id
        return _json(
            200,
            {
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "issuer": f"{base}/{tenant_id}/v2.0",
                "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "grant_types_supported": [
                    "authorization_code",
                    "refresh_token",
                    "password",
                    "client_credentials",
                    DEVICE_CODE_GRANT,
                ],
                "tenant_region_scope": "EU",
            },
        )

    async def authorize(self, request: web.Request) -> web.Response:
        return web.Response(
            status=200,
            content_type="text/html",
            text="<html><body><p>This emulator signs in with the device code flow, a "
            "password or client credentials; there is no browser sign-in.</p></body></html>",
        )

    async def devicelogin_page(self, request: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=_DEVICE_PAGE.format(message=""))

    async def devicelogin_submit(self, request: web.Request) -> web.Response:
        """Approve (with the user's credentials) or decline a user code, as the web page does."""
        form = await request.post()
        code = str(form.get("user_code", "")).strip().upper()
        identity = self.emulator.identity
        if str(form.get("action", "approve")) == "deny":
            decided = identity.decide_device_code(code, approve=False)
            message = "Sign-in declined." if decided else "That code is not valid."
            return web.Response(
                status=200 if decided else 400,
                content_type="text/html",
                text=_DEVICE_PAGE.format(message=html.escape(message)),
            )
        username = str(form.get("username", ""))
        user = identity.users.get(username.lower()) if username else identity.default_user()
        password = str(form.get("password", ""))
        if user is None or (username and user.password != password):
            return web.Response(
                status=401,
                content_type="text/html",
                text=_DEVICE_PAGE.format(message="Wrong user name or password."),
            )
        decided = identity.decide_device_code(code, approve=True, user=user)
        message = "You have signed in." if decided else "That code is not valid or has expired."
        return web.Response(
            status=200 if decided else 400,
            content_type="text/html",
            text=_DEVICE_PAGE.format(message=html.escape(message)),
        )

    # --- Web API -------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.StreamResponse:
        emulator = self.emulator
        emulator.count_request(request.path, f"{request.method} {unquote(request.path_qs)}")
        try:
            # The whole body first (aiohttp keeps it for `_serve`): latency and stalls then
            # hold the answer, never the upload, so a client that gives up mid-wait has
            # already delivered its request, as with a slow real server.
            await request.read()
        except ConnectionError:
            return _gone()
        faults = emulator.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        fault = faults.next_fault()
        if fault == "429":
            return self._throttled(faults.retry_after_seconds)
        if fault == "503":
            error = ODataError(503, UNAVAILABLE, "The service is temporarily unavailable.")
            return self._error(error)
        if fault == "status":
            return web.Response(
                status=502,
                content_type="text/html",
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
        if fault == "reset" and faults.coin():
            _reset(request)
            return web.Response(status=500)
        response = await self._serve(request)
        if fault == "stall":
            # Applied, then the answer is held past the client's timeout: the case of a
            # write that succeeded but whose response never came.
            await asyncio.sleep(faults.stall_seconds)
            if _client_gone(request):
                return _gone()
        if isinstance(response, web.StreamResponse):
            return response
        if fault == "reset":
            _reset(request)
            return web.Response(status=500)
        if fault == "malformed":
            response = ApiResponse(
                200,
                {"Content-Type": "application/json"},
                b'{"@odata.context":"truncated","value":[{"name":',
            )
        return await self._send(request, response, truncate=fault == "truncate")

    def _throttled(self, seconds: int) -> web.Response:
        error = ODataError(
            429,
            THROTTLED_REQUESTS,
            "Number of requests exceeded the limit of "
            f"{self.emulator.budget.limit} over time window of "
            f"{self.emulator.budget.window_seconds:g} seconds.",
        )
        return web.Response(
            status=429,
            body=error.body(),
            headers={
                "Retry-After": str(seconds),
                "Content-Type": "application/json",
                "x-ms-ratelimit-burst-remaining-xrm-requests": "0",
            },
        )

    def _error(self, error: ODataError, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=error.status,
            body=error.body(),
            headers={
                "Content-Type": "application/json; odata.metadata=minimal",
                "OData-Version": "4.0",
                **(headers or {}),
            },
        )

    def _unauthorized(self, request: web.Request, reason: str) -> web.Response:
        base = origin(request)
        login = self.emulator.config.authority_origin or base
        tenant_id = self.emulator.identity.settings.tenant_id
        challenge = (
            f"Bearer authorization_uri={login}/{tenant_id}/oauth2/authorize, resource_id={base}/"
        )
        if reason in ("expired", "invalid"):
            description = (
                "The access token is expired"
                if reason == "expired"
                else ("The access token is not valid")
            )
            challenge = f'Bearer error="invalid_token", error_description="{description}", ' + (
                challenge.removeprefix("Bearer ")
            )
        return web.Response(status=401, headers={"WWW-Authenticate": challenge})

    async def _serve(self, request: web.Request) -> ApiResponse | web.Response:
        emulator = self.emulator
        header = request.headers.get("Authorization", "")
        scheme, _, bearer = header.partition(" ")
        if scheme.lower() != "bearer" or not bearer.strip():
            return self._unauthorized(request, "missing")
        user, reason = emulator.identity.user_for(bearer.strip())
        if user is None:
            return self._unauthorized(request, reason)
        wait = emulator.budget.charge(user.id)
        if wait is not None:
            return self._throttled(wait)
        body = await request.read()
        version = request.match_info["version"]
        tail = request.match_info.get("tail", "")
        api_request = ApiRequest(
            method=request.method,
            path=tail,
            query={k: v for k, v in request.query.items()},
            headers=request.headers,
            body=body,
            user=user,
            root=f"{origin(request)}/api/data/{version}/",
            prefer=request.headers.getall("Prefer", []),
        )
        try:
            if tail.strip("/") == "$batch":
                if request.method != "POST":
                    raise ODataError(405, "0x8006088a", "$batch accepts POST only.")
                return emulator.batch.run(api_request, request.headers.get("Content-Type", ""))
            return emulator.api.handle(api_request)
        except ODataError as error:
            return ApiResponse(
                error.status,
                {
                    "Content-Type": "application/json; odata.metadata=minimal",
                    "OData-Version": "4.0",
                },
                error.body(),
            )

    async def _send(
        self, request: web.Request, response: ApiResponse, *, truncate: bool
    ) -> web.StreamResponse:
        body = response.body
        headers = dict(response.headers)
        accepts = request.headers.get("Accept-Encoding", "").lower()
        if "gzip" in accepts and len(body) >= GZIP_MIN_BYTES:
            if len(body) >= _EXECUTOR_BYTES:
                body = await asyncio.get_running_loop().run_in_executor(None, _gzip, body)
            else:
                body = _gzip(body)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        if not truncate:
            return web.Response(status=response.status, body=body, headers=headers)
        stream = web.StreamResponse(status=response.status, headers=headers)
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(body[: max(1, len(body) // 2)])
        # A graceful close (FIN) after half the declared length: the client reads a short body.
        if request.transport is not None:
            request.transport.close()
        return stream


_DEVICE_PAGE = """<!doctype html>
<html><head><title>Enter code</title></head><body>
<h1>Enter code</h1><p>{message}</p>
<form method="post" action="/devicelogin">
<label>Code <input name="user_code" autofocus></label><br>
<label>User name <input name="username"></label><br>
<label>Password <input name="password" type="password"></label><br>
<button name="action" value="approve">Sign in</button>
<button name="action" value="deny">Deny</button>
</form></body></html>
"""
