"""The guarded client against a real loopback HTTP server that misbehaves on script."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from tui_crm.connectors.http import (
    IDEMPOTENT_EXTENSION,
    RetryPolicy,
    check_url_safe,
    make_client,
    parse_retry_after,
)
from tui_crm.domain.errors import ConnectionFailed, HostNotAllowed, InsecureConnection

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Script:
    """Answers requests from a list of handlers in order, counting what arrived."""

    def __init__(self) -> None:
        self.handlers: list[Handler] = []
        self.seen = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.seen += 1
        await request.read()
        handler = self.handlers.pop(0) if self.handlers else _ok
        return await handler(request)


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Script]]:
    script = Script()
    app = web.Application()

    async def handle(request: web.Request) -> web.StreamResponse:
        return await script(request)

    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", script
    await runner.cleanup()


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _status(code: int, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"error": {"code": "", "message": "busy"}}, status=code, headers=headers or {}
        )

    return handler


async def _reset(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "1000"})
    await response.prepare(request)
    await response.write(b'{"partial": ')
    assert request.transport is not None
    request.transport.close()
    return response


async def test_host_outside_allow_list_is_refused_before_any_byte(
    server: tuple[str, Script],
) -> None:
    url, script = server
    other = url.replace("127.0.0.1", "localhost")
    http = make_client([url])
    try:
        with pytest.raises(HostNotAllowed) as caught:
            await http.client.get(other + "/anything")
    finally:
        await http.aclose()
    assert script.seen == 0
    assert http.counters.requests == 0
    assert "localhost" in str(caught.value)


def test_plain_http_only_to_loopback() -> None:
    check_url_safe("http://127.0.0.1:8080/")
    check_url_safe("http://[::1]:8080/")
    check_url_safe("https://org.crm.dynamics.com")
    with pytest.raises(InsecureConnection):
        check_url_safe("http://org.crm.dynamics.com")
    with pytest.raises(ConnectionFailed):
        check_url_safe("ftp://org.crm.dynamics.com")


def test_plain_http_host_cannot_even_be_allowed() -> None:
    with pytest.raises(InsecureConnection):
        make_client(["http://example.com"])


async def test_retry_after_seconds_pauses_then_succeeds(server: tuple[str, Script]) -> None:
    url, script = server
    script.handlers = [_status(429, {"Retry-After": "7"})]
    sleeps = Sleeps()
    http = make_client([url], sleep=sleeps, policy=RetryPolicy(max_attempts=3))
    try:
        response = await http.client.get(url + "/x")
    finally:
        await http.aclose()
    assert response.status_code == 200
    assert script.seen == 2
    assert len(sleeps.calls) == 1 and 6.0 < sleeps.calls[0] <= 7.0
    assert http.counters.requests == 2


async def test_retry_after_pauses_the_whole_client(server: tuple[str, Script]) -> None:
    """A second request started during the penalty waits too (Dataverse extends it otherwise)."""
    url, script = server
    script.handlers = [_status(429, {"Retry-After": "5"})]
    sleeps = Sleeps()
    http = make_client([url], sleep=sleeps)
    try:
        await http.client.get(url + "/first")
        await http.client.get(url + "/second")
    finally:
        await http.aclose()
    assert len(sleeps.calls) == 2
    assert all(call > 4.0 for call in sleeps.calls)


async def test_retry_after_http_date(server: tuple[str, Script]) -> None:
    url, script = server
    when = datetime.now(UTC) + timedelta(seconds=30)
    script.handlers = [_status(503, {"Retry-After": format_datetime(when, usegmt=True)})]
    sleeps = Sleeps()
    http = make_client([url], sleep=sleeps)
    try:
        response = await http.client.get(url + "/x")
    finally:
        await http.aclose()
    assert response.status_code == 200
    assert 20.0 < sleeps.calls[0] <= 31.0


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 10) == 10.0


async def test_backoff_is_full_jitter_and_capped(server: tuple[str, Script]) -> None:
    url, script = server
    script.handlers = [_status(503), _status(503), _status(503)]
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=5, base_seconds=1.0, cap_seconds=3.0)
    http = make_client([url], sleep=sleeps, policy=policy)
    try:
        response = await http.client.get(url + "/x")
    finally:
        await http.aclose()
    assert response.status_code == 200
    assert len(sleeps.calls) == 3
    assert all(0.0 <= s <= 3.0 for s in sleeps.calls)


async def test_gives_up_after_max_attempts_with_the_last_answer(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.handlers = [_status(503)] * 3
    http = make_client([url], sleep=Sleeps(), policy=RetryPolicy(max_attempts=3))
    try:
        response = await http.client.get(url + "/x")
    finally:
        await http.aclose()
    assert response.status_code == 503
    assert script.seen == 3


async def test_dropped_connection_mid_body_is_retried_for_get(server: tuple[str, Script]) -> None:
    url, script = server
    script.handlers = [_reset]
    http = make_client([url], sleep=Sleeps())
    try:
        response = await http.client.get(url + "/x")
    finally:
        await http.aclose()
    assert response.json() == {"ok": True}
    assert script.seen == 2


async def test_post_is_not_retried_unless_marked_idempotent(server: tuple[str, Script]) -> None:
    url, script = server
    script.handlers = [_reset]
    http = make_client([url], sleep=Sleeps())
    try:
        with pytest.raises(ConnectionFailed) as caught:
            await http.client.post(url + "/create", content=b"{}")
        assert script.seen == 1
        script.handlers = [_reset]
        response = await http.client.post(
            url + "/batch", content=b"{}", extensions={IDEMPOTENT_EXTENSION: True}
        )
    finally:
        await http.aclose()
    assert "connection dropped" in str(caught.value)
    assert response.status_code == 200
    assert script.seen == 3


async def test_timeout_is_retried_then_reported(server: tuple[str, Script]) -> None:
    url, script = server

    async def stall(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.json_response({})

    script.handlers = [stall, stall]
    http = make_client([url], sleep=Sleeps(), timeout=0.2, policy=RetryPolicy(max_attempts=2))
    try:
        with pytest.raises(ConnectionFailed) as caught:
            await http.client.get(url + "/slow")
    finally:
        await http.aclose()
    assert "timed out" in str(caught.value)
    assert script.seen == 2


async def test_gzip_counted_as_wire_bytes(server: tuple[str, Script]) -> None:
    url, script = server
    document = {"value": ["x" * 50] * 200}
    raw = json.dumps(document).encode()

    async def gzipped(request: web.Request) -> web.StreamResponse:
        assert "gzip" in request.headers.get("Accept-Encoding", "")
        return web.Response(
            body=gzip.compress(raw),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    script.handlers = [gzipped]
    http = make_client([url])
    try:
        response = await http.client.get(url + "/big")
    finally:
        await http.aclose()
    assert response.json() == document
    assert 0 < http.counters.bytes_received < len(raw) / 4
    assert http.counters.bytes_sent > 0


class RawServer:
    """A byte-exact HTTP/1.1 peer: records every byte received, answers fixed bytes."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.received = bytearray()
        self.sent = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.received += head + body
                answer = self.answers.pop(0)
                writer.write(answer)
                self.sent += len(answer)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


def _raw_answer(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    fields = [*headers, ("Content-Length", str(len(body)))]
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
    return head.encode() + body


async def test_traffic_counts_every_byte_on_the_wire() -> None:
    """Request line + headers + body out; status line + headers + compressed body in."""
    page = json.dumps({"value": [{"name": f"account {i}"} for i in range(200)]}).encode()
    raw = RawServer(
        [
            _raw_answer("200 OK", [("Content-Type", "application/json")], b'{"ok":true}'),
            _raw_answer(
                "201 Created",
                [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
                gzip.compress(page),
            ),
            _raw_answer("204 No Content", [("OData-EntityId", "x")], b""),
        ]
    )
    tcp = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    http = make_client([url])
    try:
        first = await http.client.get(
            f"{url}/api/data/v9.2/accounts?$select=name,accountid&$top=5",
            headers={"Authorization": "Bearer abc.def.ghi"},
        )
        second = await http.client.post(f"{url}/api/data/v9.2/accounts", json={"name": "é x"})
        third = await http.client.patch(f"{url}/api/data/v9.2/accounts(1)", content=b"{}")
    finally:
        await http.aclose()
        tcp.close()
        await tcp.wait_closed()
    assert first.json() == {"ok": True} and second.json() == json.loads(page)
    assert third.status_code == 204
    assert http.counters.requests == 3
    assert http.counters.bytes_sent == len(raw.received)
    assert http.counters.bytes_received == raw.sent
    parts = http.counters.parts
    assert parts["request_line"] + parts["request_headers"] + parts["request_body"] == len(
        raw.received
    )
    assert parts["response_head"] + parts["response_body"] == raw.sent
    assert parts["request_line"] == len(
        b"GET /api/data/v9.2/accounts?$select=name,accountid&$top=5 HTTP/1.1\r\n"
        b"POST /api/data/v9.2/accounts HTTP/1.1\r\n"
        b"PATCH /api/data/v9.2/accounts(1) HTTP/1.1\r\n"
    )
    assert b"connection:" not in raw.received.lower()  # HTTP/1.1 persists by default
