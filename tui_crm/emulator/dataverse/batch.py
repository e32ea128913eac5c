"""Multipart `$batch`: requests replayed through the Web API, change sets all-or-nothing.

Wire shape as documented for Dataverse: the request is `multipart/mixed` with a
`batch_` boundary, each part `application/http` holding one request, change
sets nested with a `changeset_` boundary and `Content-ID`s that later parts
reference as `$n`. The response uses `batchresponse_`/`changesetresponse_`
boundaries. Without `Prefer: odata.continue-on-error` the first failure ends
the batch; a failed change set is rolled back and answered by its error alone.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tui_crm.emulator.dataverse.data import DataStore
from tui_crm.emulator.dataverse.errors import BAD_PAYLOAD, ODataError
from tui_crm.emulator.dataverse.webapi import ApiRequest, ApiResponse, WebApi

MAX_OPERATIONS = 1000

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_API_PATH = re.compile(r"^.*?/api/data/v9\.\d/")


@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


def boundary_of(content_type: str) -> str:
    match = _BOUNDARY.search(content_type or "")
    if match is None or not content_type.lower().startswith("multipart/mixed"):
        raise ODataError(
            400, BAD_PAYLOAD, "A $batch request must be multipart/mixed with a boundary."
        )
    return match.group(1)


def _parts(body: bytes, boundary: str) -> list[bytes]:
    text = body.replace(b"\r\n", b"\n")
    delimiter = b"--" + boundary.encode()
    chunks = text.split(delimiter)
    if len(chunks) < 3:
        raise ODataError(400, BAD_PAYLOAD, "The $batch body has no parts.")
    parts: list[bytes] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        parts.append(chunk.strip(b"\n"))
    return parts


def _split_head(block: bytes) -> tuple[dict[str, str], bytes]:
    head, _, rest = block.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _operation(block: bytes) -> Operation:
    part_headers, http = _split_head(block)
    request_line, _, rest = http.partition(b"\n")
    words = request_line.decode("utf-8", "replace").split()
    if len(words) < 2:
        raise ODataError(400, BAD_PAYLOAD, "A $batch part does not hold an HTTP request.")
    if rest.startswith(b"\n"):
        headers: dict[str, str] = {}
        body = rest[1:]
    else:
        headers, body = _split_head(rest)
    return Operation(
        words[0].upper(), words[1], headers, body.strip(b"\n"), part_headers.get("content-id")
    )


def parse_batch(body: bytes, content_type: str) -> list[Operation | ChangeSet]:
    items: list[Operation | ChangeSet] = []
    for part in _parts(body, boundary_of(content_type)):
        headers, content = _split_head(part)
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/mixed"):
            change_set = ChangeSet()
            for inner in _parts(content, boundary_of(part_type)):
                change_set.operations.append(_operation(inner))
            items.append(change_set)
        else:
            items.append(_operation(part))
    return items


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}".rstrip()


def _render(response: ApiResponse, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", _status_line(response.status)]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    lines += ["", response.body.decode("utf-8")]
    return "\r\n".join(lines)


class BatchRunner:
    def __init__(self, api: WebApi, store: DataStore) -> None:
        self.api = api
        self.store = store

    def run(self, outer: ApiRequest, content_type: str) -> ApiResponse:
        items = parse_batch(outer.body, content_type)
        total = sum(len(i.operations) if isinstance(i, ChangeSet) else 1 for i in items)
        if total > MAX_OPERATIONS:
            raise ODataError(
                400,
                BAD_PAYLOAD,
                f"The number of requests in the batch ({total}) exceeds the limit of "
                f"{MAX_OPERATIONS}.",
            )
        continue_on_error = outer.preferences().continue_on_error
        boundary = f"batchresponse_{uuid.uuid4()}"
        chunks: list[str] = []
        for item in items:
            if isinstance(item, ChangeSet):
                text, failed = self._change_set(outer, item)
            else:
                response = self._execute(outer, item, {})
                text, failed = _render(response, item.content_id), response.status >= 400
            chunks.append(text)
            if failed and not continue_on_error:
                break
        body = "".join(f"--{boundary}\r\n{chunk}\r\n" for chunk in chunks) + f"--{boundary}--\r\n"
        return ApiResponse(
            200,
            {"Content-Type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"},
            body.encode(),
        )

    def _change_set(self, outer: ApiRequest, change_set: ChangeSet) -> tuple[str, bool]:
        references: dict[str, str] = {}
        rendered: list[str] = []

        class _Failed(Exception):
            def __init__(self, response: ApiResponse) -> None:
                self.response = response

        try:
            with self.store.atomic():
                for operation in change_set.operations:
                    if operation.method == "GET":
                        raise _Failed(
                            _error(
                                ODataError(
                                    400, BAD_PAYLOAD, "A change set cannot contain a GET request."
                                )
                            )
                        )
                    response = self._execute(outer, operation, references)
                    if response.status >= 400:
                        raise _Failed(response)
                    if operation.content_id is not None and "OData-EntityId" in response.headers:
                        references[operation.content_id] = response.headers["OData-EntityId"]
                    rendered.append(_render(response, operation.content_id))
        except _Failed as failure:
            return _render(failure.response, None), True
        boundary = f"changesetresponse_{uuid.uuid4()}"
        inner = "".join(f"--{boundary}\r\n{text}\r\n" for text in rendered) + f"--{boundary}--"
        return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}", False

    def _execute(
        self, outer: ApiRequest, operation: Operation, references: dict[str, str]
    ) -> ApiResponse:
        url = operation.url
        for content_id, entity_url in references.items():
            if url.startswith(f"${content_id}"):
                url = entity_url + url[len(content_id) + 1 :]
        split = urlsplit(url)
        path = _API_PATH.sub("", split.path) if _API_PATH.match(split.path) else split.path
        body = operation.body
        if references and body:
            body = _substitute(body, references)
        headers = {k.title(): v for k, v in operation.headers.items()}
        prefer = [v for k, v in operation.headers.items() if k == "prefer"]
        request = ApiRequest(
            method=operation.method,
            path=path.lstrip("/"),
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=_Caseless(headers),
            body=body,
            user=outer.user,
            root=outer.root,
            prefer=prefer,
        )
        try:
            if request.path.strip("/") == "$batch":
                raise ODataError(400, BAD_PAYLOAD, "Nested $batch requests are not allowed.")
            return self.api.handle(request)
        except ODataError as error:
            return _error(error)


def _error(error: ODataError) -> ApiResponse:
    return ApiResponse(
        error.status,
        {"Content-Type": "application/json; odata.metadata=minimal", "OData-Version": "4.0"},
        error.body(),
    )


def _substitute(body: bytes, references: dict[str, str]) -> bytes:
    """`"x@odata.bind": "$1"` -> the URL of the record change-set item 1 created."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and value.startswith("$") and value[1:] in references:
            return references[value[1:]]
        return value

    return json.dumps(walk(document)).encode()


class _Caseless(dict[str, str]):
    """Header lookup without regard to case, like aiohttp's CIMultiDict."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in headers.items()})

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())
