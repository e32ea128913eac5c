"""The one HTTP client factory every connector uses.

All egress of the product goes through `make_client`, so the rules that keep
the user safe and the servers happy live in one place:

* only the configured hosts are reachable (`HostNotAllowed` before a byte is
  sent), plain `http://` only to loopback;
* TLS verified, gzip accepted, bounded timeouts;
* idempotent requests are retried with capped exponential backoff and full
  jitter; a `Retry-After` (seconds or HTTP-date) pauses the *whole* client,
  because Dataverse extends its penalty window when a client keeps sending;
* wire bytes and requests are counted for the sync summary.

The transport reads each body completely inside the retry loop, so a
connection reset or truncated body mid-response is retried like any other
transient failure instead of surfacing half a page to the caller.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from tui_crm.domain.errors import ConnectionFailed, HostNotAllowed, InsecureConnection

DEFAULT_TIMEOUT_SECONDS = 30.0
"""The client's read/write/pool timeout; the emulator's `stall` default outlasts it."""
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
IDEMPOTENT_EXTENSION = "tui_crm.idempotent"
"""Set `extensions={IDEMPOTENT_EXTENSION: True}` on a POST that is safe to repeat
(a `$batch` of conditional writes, a token request)."""

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class TrafficCounters:
    """What the sync summary reports; bytes are as sent on the wire (compressed)."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    parts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("request_line", "request_headers", "request_body", "response_head", "response_body"),
            0,
        )
    )
    """The same bytes split by part of the HTTP message (for benchmarks and diagnosis)."""

    def snapshot(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
        }


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter (AWS architecture blog)."""

    max_attempts: int = 6
    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    max_retry_after_seconds: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        return self.rng.uniform(0.0, min(self.cap_seconds, self.base_seconds * 2**attempt))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    host = urlsplit(url).hostname
    if not host:
        raise ConnectionFailed(f"not a server address: {url!r}")
    return host.lower()


def check_url_safe(url: str) -> None:
    """Refuse plain http to a non-loopback host (used before a URL is even stored)."""
    parts = urlsplit(url)
    host = host_of(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback(host):
        return
    if parts.scheme == "http":
        raise InsecureConnection(host)
    raise ConnectionFailed(f"unsupported address scheme: {parts.scheme or '(none)'}")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date, RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class HostAllowList:
    """The hosts this client may talk to; grows only when the user configures a server."""

    def __init__(self, hosts: Iterable[str] = ()) -> None:
        self._hosts: set[str] = {h.lower() for h in hosts}

    def allow_url(self, url: str) -> None:
        check_url_safe(url)
        self._hosts.add(host_of(url))

    def allows(self, host: str) -> bool:
        return host.lower() in self._hosts

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(self._hosts)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Allow-list, counters and retries around httpx's own connection pool."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        allow: HostAllowList,
        counters: TrafficCounters,
        policy: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self._allow = allow
        self._counters = counters
        self._policy = policy
        self._sleep = sleep
        self._paused_until = 0.0

    def _check(self, request: httpx.Request) -> None:
        host = (request.url.host or "").lower()
        if not self._allow.allows(host):
            raise HostNotAllowed(host)
        if request.url.scheme != "https" and not is_loopback(host):
            raise InsecureConnection(host)

    async def _wait_for_pause(self) -> None:
        delay = self._paused_until - time.monotonic()
        if delay > 0:
            await self._sleep(delay)

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def _send_once(self, request: httpx.Request) -> httpx.Response:
        await self._wait_for_pause()
        self._counters.requests += 1
        counters = self._counters
        line, head, body = _request_parts(request)
        counters.bytes_sent += line + head + body
        response = await self._inner.handle_async_request(request)
        try:
            chunks = [chunk async for chunk in response.stream]  # type: ignore[union-attr]
        finally:
            await response.aclose()
        raw = b"".join(chunks)
        received_head = response_head_size(response)
        counters.bytes_received += received_head + len(raw)
        for part, size in (
            ("request_line", line),
            ("request_headers", head),
            ("request_body", body),
            ("response_head", received_head),
            ("response_body", len(raw)),
        ):
            counters.parts[part] = counters.parts.get(part, 0) + size
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() != "content-length"
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=raw,
            request=request,
            extensions=response.extensions,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        retryable = request.method in IDEMPOTENT_METHODS or bool(
            request.extensions.get(IDEMPOTENT_EXTENSION)
        )
        attempt = 0
        while True:
            try:
                response = await self._send_once(request)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                attempt += 1
                if not retryable or attempt >= self._policy.max_attempts:
                    raise ConnectionFailed(
                        f"cannot reach {request.url.host}: {_describe(exc)}"
                    ) from None
                await self._sleep(self._policy.backoff(attempt))
                continue
            if response.status_code not in RETRYABLE_STATUSES:
                return response
            attempt += 1
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is not None and wait > self._policy.max_retry_after_seconds:
                return response
            if not retryable or attempt >= self._policy.max_attempts:
                return response
            if wait is not None:
                self._pause(wait)
            else:
                await self._sleep(self._policy.backoff(attempt))

    async def aclose(self) -> None:
        await self._inner.aclose()


def _header_size(headers: httpx.Headers) -> int:
    """`Name: value CRLF` per field, then the CRLF that ends the head (as h11 writes them)."""
    return sum(len(k) + len(v) + 4 for k, v in headers.raw) + 2


def request_wire_size(request: httpx.Request) -> int:
    """Bytes of an HTTP/1.1 request as sent: `METHOD target HTTP/1.1 CRLF`, headers, body.

    The target is the path and query as written on the request line (httpcore sends
    `url.raw_path`); `Host` and `Content-Length` are already among httpx's headers.
    """
    return sum(_request_parts(request))


def _request_parts(request: httpx.Request) -> tuple[int, int, int]:
    line = len(request.method) + 1 + len(request.url.raw_path) + len(" HTTP/1.1\r\n")
    return line, _header_size(request.headers), len(request.content)


def response_head_size(response: httpx.Response) -> int:
    """Bytes of the status line and header block as received (the body is counted raw,
    still compressed; chunked framing, if any, is not seen and not counted)."""
    version = response.extensions.get("http_version", b"HTTP/1.1")
    reason = response.extensions.get("reason_phrase", b"")
    line = len(version) + len(" 200 ") + len(reason) + 2
    return line + _header_size(response.headers)


def _describe(exc: Exception) -> str:
    """A short reason without URLs or payloads (those may carry ids or tokens)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or unreachable"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection dropped"
    return type(exc).__name__


@dataclass
class HttpClient:
    """The client plus the handles a connector and the sync summary need."""

    client: httpx.AsyncClient
    allow: HostAllowList
    counters: TrafficCounters

    async def aclose(self) -> None:
        await self.client.aclose()


def make_client(
    servers: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    connect_timeout: float = 10.0,
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    user_agent: str = "tui-crm",
) -> HttpClient:
    """Build the one AsyncClient: every URL in `servers` is allowed, nothing else."""
    allow = HostAllowList()
    for url in servers:
        allow.allow_url(url)
    counters = TrafficCounters()
    inner = httpx.AsyncHTTPTransport(verify=True, retries=0, http2=False)
    transport = GuardedTransport(inner, allow, counters, policy or RetryPolicy(), sleep)
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers={"Accept-Encoding": "gzip", "User-Agent": user_agent},
        follow_redirects=False,
        trust_env=False,
    )
    # HTTP/1.1 connections persist by default: httpx's `Connection: keep-alive` is 24 bytes
    # of every request for nothing (the quiet-sync budget is 2 KB a request).
    del client.headers["Connection"]
    return HttpClient(client=client, allow=allow, counters=counters)
