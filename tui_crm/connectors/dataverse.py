"""Microsoft Dataverse Web API v9.2 connector.

Pull uses change tracking (`Prefer: odata.track-changes`, delta links) with a
`$select` of the synced fields; a filtered entity (Dataverse refuses
`$filter` with change tracking) pulls by a `modifiedon` watermark and lists
ids for the deletion pass. Push writes are conditional so that a retry can
never apply a change twice: creates are upserts with the device's id and
`If-None-Match: *`, updates and deletes carry `If-Match` with the base
version; a 412 is then told apart from our own earlier success by reading
the row back.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from tui_crm.connectors import odata
from tui_crm.connectors.base import (
    Applied,
    Checkpoint,
    ConflictResult,
    DeltaExpired,
    PullPage,
    PullRequest,
    PushOp,
    PushResult,
    Rejected,
    RemoteRecord,
)
from tui_crm.connectors.http import IDEMPOTENT_EXTENSION, HttpClient, RetryPolicy
from tui_crm.domain.entities import EntityDef, FieldType
from tui_crm.domain.errors import AuthenticationFailed, ConnectionFailed

API_PATH = "/api/data/v9.2"
MAX_PAGE_SIZE = 5000
ENTITY_METADATA_SELECT = (
    "LogicalName,SchemaName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,"
    "DisplayName,DisplayCollectionName,ChangeTrackingEnabled"
)
LOOKUP_ANNOTATION_PREFER = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'


def api_root(base_url: str) -> str:
    return base_url.rstrip("/") + API_PATH


class DataverseConnector:
    backend = "dataverse"

    def __init__(
        self,
        base_url: str,
        http: HttpClient,
        auth: httpx.Auth | None,
        *,
        malformed_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._api = api_root(base_url)
        self._http = http
        self._auth = auth
        self._malformed_retries = malformed_retries
        self._policy = retry_policy or RetryPolicy(base_seconds=0.2, cap_seconds=5.0)
        self._entity_sets: dict[str, str] = {}

    @property
    def http(self) -> HttpClient:
        return self._http

    def know_entities(self, entities: Sequence[EntityDef]) -> None:
        """Entity set names for URLs and `@odata.bind` (from stored metadata)."""
        for entity in entities:
            if entity.entity_set:
                self._entity_sets[entity.name] = entity.entity_set

    # -- plumbing -----------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
        }
        if extra:
            headers.update(extra)
        return headers

    async def _send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        idempotent: bool = False,
    ) -> httpx.Response:
        content = raw
        all_headers = self._headers(headers)
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = await self._http.client.request(
                method,
                url,
                content=content,
                headers=all_headers,
                auth=self._auth or httpx.USE_CLIENT_DEFAULT,
                extensions={IDEMPOTENT_EXTENSION: True} if idempotent else None,
            )
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"cannot reach the server: {type(exc).__name__}") from None
        if response.status_code == 401:
            raise AuthenticationFailed("the server refused the sign-in: run connect again")
        return response

    async def _json(
        self, method: str, url: str, *, what: str, headers: Mapping[str, str] | None = None
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """A request whose 2xx answer must be a JSON object; malformed bodies are re-fetched."""
        attempt = 0
        while True:
            response = await self._send(method, url, headers=headers)
            if not response.is_success:
                return response, _safe_json(response)
            try:
                # A page of 5000 rows is about a megabyte of JSON: decoded off the
                # event loop (the interface's), which must stay responsive during sync.
                body = await asyncio.to_thread(response.json)
                if not isinstance(body, dict):
                    raise ValueError("not an object")
                return response, body
            except ValueError:
                attempt += 1
                if attempt > self._malformed_retries:
                    raise ConnectionFailed(
                        f"the server sent malformed data for {what}; nothing was changed"
                    ) from None
                await asyncio.sleep(self._policy.backoff(attempt))

    def _failure(self, response: httpx.Response, what: str) -> ConnectionFailed:
        message = odata.error_message(_safe_json(response), response.status_code)
        return ConnectionFailed(f"{what}: {message} (HTTP {response.status_code})")

    def _entity_set(self, entity: EntityDef) -> str:
        return entity.entity_set or self._entity_sets.get(entity.name) or f"{entity.name}s"

    def _row_url(self, entity: EntityDef, record_id: str) -> str:
        return f"{self._api}/{self._entity_set(entity)}({record_id})"

    # -- contract -----------------------------------------------------------

    async def authenticate(self) -> str:
        response, body = await self._json("GET", f"{self._api}/WhoAmI", what="WhoAmI")
        if not response.is_success:
            raise self._failure(response, "sign-in check failed")
        user_id = body.get("UserId")
        if not isinstance(user_id, str):
            raise ConnectionFailed("the server's WhoAmI answer has no user id")
        return user_id

    async def fetch_metadata(self, entities: Sequence[str]) -> list[EntityDef]:
        result = []
        for name in entities:
            definition = await self._entity_metadata(name)
            if definition is not None:
                result.append(definition)
        self.know_entities(result)
        return result

    async def _entity_metadata(self, name: str) -> EntityDef | None:
        base = f"{self._api}/EntityDefinitions(LogicalName={odata.quote_literal(name)})"
        response, entity = await self._json(
            "GET", f"{base}?$select={ENTITY_METADATA_SELECT}", what=f"{name} metadata"
        )
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise self._failure(response, f"reading {name} metadata failed")
        response, attributes = await self._json("GET", f"{base}/Attributes", what=f"{name} fields")
        if not response.is_success:
            raise self._failure(response, f"reading {name} fields failed")
        rows = [a for a in attributes.get("value", []) if isinstance(a, dict)]
        await self._fill_option_sets(base, rows)
        try:
            return odata.entity_def_from_metadata(entity, rows)
        except odata.WireFormatError as exc:
            raise ConnectionFailed(f"{name} metadata: {exc}") from None

    async def _fill_option_sets(self, base: str, rows: list[dict[str, Any]]) -> None:
        """Option sets come only through the typed cast, as in the real service."""
        kinds = {
            "Picklist": "PicklistAttributeMetadata",
            "State": "StateAttributeMetadata",
            "Status": "StatusAttributeMetadata",
        }
        missing = {
            str(r.get("AttributeType"))
            for r in rows
            if r.get("AttributeType") in kinds
            and not (r.get("OptionSet") or r.get("GlobalOptionSet"))
        }
        by_name = {r.get("LogicalName"): r for r in rows}
        for kind in sorted(missing):
            url = (
                f"{base}/Attributes/Microsoft.Dynamics.CRM.{kinds[kind]}"
                "?$select=LogicalName&$expand=OptionSet"
            )
            response, body = await self._json("GET", url, what="option sets")
            if not response.is_success:
                continue
            for item in body.get("value", []):
                if isinstance(item, dict) and item.get("LogicalName") in by_name:
                    by_name[item["LogicalName"]]["OptionSet"] = item.get("OptionSet")

    def pull(self, request: PullRequest) -> AsyncIterator[PullPage]:
        if request.filter:
            return self._pull_watermark(request)
        return self._pull_tracked(request)

    def _page_headers(self, page_size: int, *, tracked: bool) -> dict[str, str]:
        prefer = [f"odata.maxpagesize={min(page_size, MAX_PAGE_SIZE)}", LOOKUP_ANNOTATION_PREFER]
        if tracked:
            prefer.insert(0, "odata.track-changes")
        return {"Prefer": ",".join(prefer)}

    def _select(self, request: PullRequest) -> str:
        return ",".join(odata.select_columns(request.entity, request.fields))

    async def _pull_tracked(self, request: PullRequest) -> AsyncIterator[PullPage]:
        entity = request.entity
        resumed = request.checkpoint is not None and request.checkpoint.kind == "delta"
        url = (
            request.checkpoint.value
            if request.checkpoint is not None and resumed
            else f"{self._api}/{self._entity_set(entity)}?$select={self._select(request)}"
        )
        headers = self._page_headers(request.page_size, tracked=True)
        while True:
            response, body = await self._json("GET", url, what=entity.plural_label, headers=headers)
            if not response.is_success:
                if resumed and 400 <= response.status_code < 500:
                    raise DeltaExpired(f"{entity.name}: change token refused, pulling everything")
                raise self._failure(response, f"pulling {entity.plural_label} failed")
            page = await asyncio.to_thread(self._tracked_page, entity, body)
            yield page
            if page.final:
                return
            url = page.checkpoint.value
            resumed = True

    def _tracked_page(self, entity: EntityDef, body: Mapping[str, Any]) -> PullPage:
        """One change-tracked page: rows, deletions and the link the next pull starts from."""
        upserts, deletes = self._parse_rows(entity, body)
        next_link = body.get("@odata.nextLink")
        delta_link = body.get("@odata.deltaLink")
        if isinstance(next_link, str):
            return PullPage(upserts, deletes, Checkpoint("delta", next_link), final=False)
        if isinstance(delta_link, str):
            return PullPage(upserts, deletes, Checkpoint("delta", delta_link), final=True)
        raise ConnectionFailed(f"pulling {entity.plural_label}: the server sent no change token")

    async def pull_first_pages(self, requests: Sequence[PullRequest]) -> dict[str, PullPage]:
        """The next page of several change-tracked pulls in one `$batch` of GETs.

        An incremental sync with nothing new then costs one round trip and one
        Authorization header (about 2 KB with a real token) for all tables,
        instead of one each. A part that fails (an expired change token, a
        server error) is left out, and that table pulls on its own as usual.
        """
        tracked = [
            r for r in requests if not r.filter and r.checkpoint and r.checkpoint.kind == "delta"
        ]
        if len(tracked) < 2:
            return {}
        gets = [
            _Request(
                "GET",
                r.checkpoint.value,
                {"Accept": "application/json", **self._page_headers(r.page_size, tracked=True)},
                None,
            )
            for r in tracked
            if r.checkpoint is not None
        ]
        try:
            answers = await self._batch(gets)
        except ConnectionFailed:
            return {}
        pages: dict[str, PullPage] = {}
        for request, answer in zip(tracked, answers, strict=True):
            if answer is None or answer[0] != 200:
                continue
            try:
                pages[request.entity.name] = await asyncio.to_thread(
                    self._part_page, request.entity, answer[1]
                )
            except ConnectionFailed:
                continue
        return pages

    def _part_page(self, entity: EntityDef, body: bytes) -> PullPage:
        return self._tracked_page(entity, _json_object(body))

    def _parse_rows(
        self, entity: EntityDef, body: Mapping[str, Any]
    ) -> tuple[list[RemoteRecord], list[str]]:
        """Rows to records: a loop over a whole page, so callers run it off the event loop."""
        rows = body.get("value")
        if not isinstance(rows, list):
            raise ConnectionFailed(f"pulling {entity.plural_label}: answer without rows")
        upserts: list[RemoteRecord] = []
        deletes: list[str] = []
        for row in rows:
            if not isinstance(row, dict):
                raise ConnectionFailed(f"pulling {entity.plural_label}: malformed row")
            context = row.get("@odata.context")
            if (isinstance(context, str) and context.endswith("$deletedEntity")) or (
                "reason" in row and "id" in row and entity.primary_key not in row
            ):
                deleted = row.get("id")
                if isinstance(deleted, str):
                    deletes.append(deleted.lower())
                continue
            try:
                upserts.append(odata.record_from_row(entity, row))
            except odata.WireFormatError as exc:
                raise ConnectionFailed(f"pulling {entity.plural_label}: {exc}") from None
        return upserts, deletes

    async def _pull_watermark(self, request: PullRequest) -> AsyncIterator[PullPage]:
        entity = request.entity
        watermark = (
            request.checkpoint.value
            if request.checkpoint is not None and request.checkpoint.kind == "watermark"
            else ""
        )
        condition = f"({request.filter})"
        if watermark:
            condition += f" and modifiedon ge {watermark}"
        url = (
            f"{self._api}/{self._entity_set(entity)}?$select={self._select(request)}"
            f"&$filter={quote(condition, safe='')}"
            f"&$orderby={quote(f'modifiedon asc,{entity.primary_key} asc', safe='')}"
        )
        headers = self._page_headers(request.page_size, tracked=False)
        while True:
            response, body = await self._json("GET", url, what=entity.plural_label, headers=headers)
            if not response.is_success:
                raise self._failure(response, f"pulling {entity.plural_label} failed")
            upserts, _ = await asyncio.to_thread(self._parse_rows, entity, body)
            for record in upserts:
                if record.modified_on and record.modified_on > watermark:
                    watermark = record.modified_on
            next_link = body.get("@odata.nextLink")
            final = not isinstance(next_link, str)
            yield PullPage(upserts, [], Checkpoint("watermark", watermark), final=final)
            if final:
                return
            url = str(next_link)

    async def list_ids(self, entity: EntityDef, filter: str) -> AsyncIterator[list[str]]:
        url = f"{self._api}/{self._entity_set(entity)}?$select={entity.primary_key}"
        if filter:
            url += f"&$filter={quote(filter, safe='')}"
        headers = {"Prefer": f"odata.maxpagesize={MAX_PAGE_SIZE}"}
        while True:
            response, body = await self._json("GET", url, what=entity.plural_label, headers=headers)
            if not response.is_success:
                raise self._failure(response, f"listing {entity.plural_label} failed")
            rows = body.get("value")
            if not isinstance(rows, list):
                raise ConnectionFailed(f"listing {entity.plural_label}: answer without rows")
            yield [
                str(r[entity.primary_key]).lower()
                for r in rows
                if isinstance(r, dict) and isinstance(r.get(entity.primary_key), str)
            ]
            next_link = body.get("@odata.nextLink")
            if not isinstance(next_link, str):
                return
            url = next_link

    async def record_counts(self, entities: Sequence[EntityDef]) -> dict[str, int]:
        names = [entity.name for entity in entities]
        if not names:
            return {}
        alias = quote(json.dumps(names, separators=(",", ":")), safe="")
        url = f"{self._api}/RetrieveTotalRecordCount(EntityNames=@p1)?@p1={alias}"
        try:
            response, body = await self._json("GET", url, what="record counts")
        except ConnectionFailed:
            return {}
        counts = body.get("EntityRecordCountCollection") if response.is_success else None
        if not isinstance(counts, dict):
            return {}
        keys, values = counts.get("Keys"), counts.get("Values")
        if not isinstance(keys, list) or not isinstance(values, list):
            return {}
        return {
            key: value
            for key, value in zip(keys, values, strict=False)
            if key in names
            and isinstance(value, int)
            and not isinstance(value, bool)
            and value >= 0
        }

    async def get(self, entity: EntityDef, record_id: str) -> RemoteRecord | None:
        select = ",".join(odata.select_columns(entity, [f.name for f in entity.fields]))
        response, body = await self._json(
            "GET",
            f"{self._row_url(entity, record_id)}?$select={select}",
            what=entity.label,
            headers={"Prefer": LOOKUP_ANNOTATION_PREFER, "If-None-Match": "null"},
        )
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise self._failure(response, f"reading a {entity.label} failed")
        try:
            return odata.record_from_row(entity, body)
        except odata.WireFormatError as exc:
            raise ConnectionFailed(f"reading a {entity.label}: {exc}") from None

    async def query(
        self,
        entity: EntityDef,
        *,
        filter: str = "",
        order: str | None = None,
        descending: bool = False,
        top: int = 50,
    ) -> list[RemoteRecord]:
        select = ",".join(odata.select_columns(entity, [f.name for f in entity.fields]))
        url = f"{self._api}/{self._entity_set(entity)}?$select={select}&$top={top}"
        if filter:
            url += f"&$filter={quote(filter, safe='')}"
        if order:
            direction = "desc" if descending else "asc"
            url += f"&$orderby={quote(f'{order} {direction}', safe='')}"
        response, body = await self._json(
            "GET", url, what=entity.plural_label, headers={"Prefer": LOOKUP_ANNOTATION_PREFER}
        )
        if not response.is_success:
            raise self._failure(response, f"querying {entity.plural_label} failed")
        upserts, _ = await asyncio.to_thread(self._parse_rows, entity, body)
        return upserts

    async def push(self, entity: EntityDef, op: PushOp) -> PushResult:
        if op.op == "delete":
            return await self._push_delete(entity, op)
        return await self._push_write(entity, op)

    async def push_many(
        self, entity_defs: dict[str, EntityDef], ops: Sequence[PushOp]
    ) -> list[PushResult]:
        """Independent writes in one multipart `$batch` per MAX_BATCH_OPERATIONS.

        Each write is its own change set and the batch continues on error, so a
        refused or conflicting write never rolls back or stops the others; the
        answers map back in order. Every write is conditional (If-Match on its
        base, If-None-Match for a create), so re-sending a batch whose answer
        was lost applies nothing twice.
        """
        results: list[PushResult | None] = [None] * len(ops)
        prepared: list[tuple[int, EntityDef, PushOp, _Request]] = []
        for index, op in enumerate(ops):
            entity = entity_defs[op.entity]
            try:
                prepared.append((index, entity, op, self._write_request(entity, op)))
            except odata.WireFormatError as exc:
                results[index] = Rejected(str(exc))
        if len(prepared) == 1:
            index, entity, op, _ = prepared[0]
            results[index] = await self.push(entity, op)
        for start in range(0, len(prepared) if len(prepared) > 1 else 0, MAX_BATCH_OPERATIONS):
            chunk = prepared[start : start + MAX_BATCH_OPERATIONS]
            answers = await self._batch([request for *_, request in chunk])
            for (index, entity, op, _), answer in zip(chunk, answers, strict=True):
                if answer is None or answer[0] in (429, 500, 502, 503, 504):
                    results[index] = await self.push(entity, op)  # unanswered: alone, retried
                else:
                    results[index] = await self._outcome(entity, op, answer[0], answer[1])
        return [r if r is not None else Rejected("not sent") for r in results]

    def _write_request(self, entity: EntityDef, op: PushOp) -> _Request:
        if op.op == "delete":
            tag = odata.etag_header(op.base_version) if op.base_version else "*"
            return _Request("DELETE", self._row_url(entity, op.record_id), {"If-Match": tag}, None)
        body = odata.row_from_fields(entity, op.fields, self._entity_sets)
        select = ",".join(odata.select_columns(entity, [f.name for f in entity.fields]))
        headers = {"Prefer": f"return=representation,{LOOKUP_ANNOTATION_PREFER}"}
        if op.op == "create":
            headers["If-None-Match"] = "*"
        else:
            headers["If-Match"] = odata.etag_header(op.base_version) if op.base_version else "*"
        url = f"{self._row_url(entity, op.record_id)}?$select={select}"
        return _Request("PATCH", url, headers, body)

    async def _batch(self, requests: Sequence[_Request]) -> list[tuple[int, bytes] | None]:
        """One `$batch` POST; (status, body) per request in order, None where unanswered.

        Each write goes in a change set of its own (one refused write rolls back
        nothing else); reads go as plain parts.
        """
        boundary = f"batch_{uuid.uuid4()}"
        parts = []
        for number, request in enumerate(requests, start=1):
            if request.method == "GET":
                # Reads stand alone: a change set may hold only writes.
                parts.append(
                    f"--{boundary}\r\nContent-Type: application/http\r\n"
                    "Content-Transfer-Encoding: binary\r\n\r\n"
                    f"GET {request.url} HTTP/1.1\r\n"
                    + "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
                    + "\r\n"
                )
                continue
            changeset = f"changeset_{uuid.uuid4()}"
            lines = [
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                f"Content-ID: {number}",
                "",
                f"{request.method} {request.url} HTTP/1.1",
                *(f"{name}: {value}" for name, value in request.headers.items()),
            ]
            if request.body is not None:
                lines += [
                    "Content-Type: application/json; type=entry",
                    "",
                    json.dumps(request.body, separators=(",", ":"), ensure_ascii=False),
                ]
            else:
                lines += [""]
            inner = "\r\n".join(lines)
            parts.append(
                f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"
                f"--{changeset}\r\n{inner}\r\n--{changeset}--\r\n"
            )
        payload = ("".join(parts) + f"--{boundary}--\r\n").encode()
        headers = {
            "Content-Type": f"multipart/mixed; boundary={boundary}",
            "Prefer": "odata.continue-on-error",
        }
        # Safe to repeat: every write in it is conditional on its base (or on absence).
        response = await self._send(
            "POST", f"{self._api}/$batch", headers=headers, raw=payload, idempotent=True
        )
        if response.status_code in (429, 500, 502, 503, 504):
            raise self._failure(response, "the server is unavailable")
        if response.status_code != 200:
            raise self._failure(response, "the server refused a batch of changes")
        answers = await asyncio.to_thread(_batch_answers, response)
        if len(answers) > len(requests):
            raise ConnectionFailed("the server's batch answer has more parts than requests")
        return [*answers, *([None] * (len(requests) - len(answers)))]

    async def _push_write(self, entity: EntityDef, op: PushOp) -> PushResult:
        try:
            request = self._write_request(entity, op)
        except odata.WireFormatError as exc:
            return Rejected(str(exc))
        response = await self._send(
            request.method, request.url, body=request.body, headers=request.headers
        )
        return await self._outcome(entity, op, response.status_code, response.content)

    async def _outcome(self, entity: EntityDef, op: PushOp, status: int, body: bytes) -> PushResult:
        """What one write's answer means (a single request or a part of a batch)."""
        if op.op == "delete":
            if status in (200, 204, 404):
                return Applied(None)
            if status == 412:
                server = await self.get(entity, op.record_id)
                return Applied(None) if server is None else ConflictResult(server)
        elif status in (200, 201):
            record = _record_from_body(entity, body)
            if record is not None:
                return Applied(record)
            return await self._read_back(entity, op.record_id)
        elif status == 204:
            return await self._read_back(entity, op.record_id)
        elif status == 412:
            server = await self.get(entity, op.record_id)
            if op.op == "create":
                return Applied(server) if server is not None else Rejected("create refused", True)
            if server is not None and _already_applied(entity, op.fields, server.fields):
                return Applied(server)
            return ConflictResult(server)
        elif status == 404 and op.op == "update":
            return ConflictResult(None)
        error = _json_object(body)
        if status in (429, 500, 502, 503, 504):
            message = odata.error_message(error, status)
            raise ConnectionFailed(f"the server is unavailable: {message} (HTTP {status})")
        return Rejected(odata.error_message(error, status))

    async def _read_back(self, entity: EntityDef, record_id: str) -> PushResult:
        record = await self.get(entity, record_id)
        if record is None:
            return ConflictResult(None)
        return Applied(record)

    async def _push_delete(self, entity: EntityDef, op: PushOp) -> PushResult:
        request = self._write_request(entity, op)
        response = await self._send(request.method, request.url, headers=request.headers)
        return await self._outcome(entity, op, response.status_code, response.content)

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any] | None


MAX_BATCH_OPERATIONS = 1000
"""Dataverse's limit on the operations of one `$batch`."""

_BOUNDARY = re.compile(r'boundary="?([^";\s]+)"?', re.IGNORECASE)
_STATUS_LINE = re.compile(r"^HTTP/1\.1 (\d{3})")


def _split_parts(text: str, boundary: str) -> list[str]:
    chunks = text.split(f"--{boundary}")
    return [c.strip("\r\n") for c in chunks[1:] if not c.startswith("--")]


def _batch_answers(response: httpx.Response) -> list[tuple[int, bytes]]:
    """(status, body) of each answered part, in order; a change set counts as its one answer."""
    match = _BOUNDARY.search(response.headers.get("Content-Type", ""))
    if match is None:
        raise ConnectionFailed("the server's batch answer is not multipart")
    answers: list[tuple[int, bytes]] = []
    for part in _split_parts(response.text.replace("\r\n", "\n"), match.group(1)):
        head, _, rest = part.partition("\n\n")
        nested = _BOUNDARY.search(head)
        if nested is not None and "multipart/mixed" in head.lower():
            inner = _split_parts(rest, nested.group(1))
            if len(inner) != 1:
                raise ConnectionFailed(
                    "the server's batch answer has a change set of several parts"
                )
            head, _, rest = inner[0].partition("\n\n")
        status_line, _, after = rest.partition("\n")
        found = _STATUS_LINE.match(status_line.strip())
        if found is None:
            raise ConnectionFailed("the server's batch answer has a part without a status")
        _headers, _, body = after.partition("\n\n")
        answers.append((int(found.group(1)), body.strip().encode()))
    return answers


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _record_from_body(entity: EntityDef, body: bytes) -> RemoteRecord | None:
    try:
        value = json.loads(body)
        return odata.record_from_row(entity, value) if isinstance(value, dict) else None
    except (ValueError, odata.WireFormatError):
        return None


def _safe_json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _same(field_type: FieldType | None, ours: Any, theirs: Any) -> bool:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return str(ours.get("id", "")).lower() == str(theirs.get("id", "")).lower()
    if isinstance(ours, float | int) and isinstance(theirs, float | int):
        return math.isclose(float(ours), float(theirs), rel_tol=1e-9, abs_tol=1e-5)
    if ours in ("", None) and theirs in ("", None):
        return True
    return bool(ours == theirs)


def _already_applied(entity: EntityDef, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> bool:
    """True when the server already holds exactly our values: our earlier attempt got through."""
    for name, value in ours.items():
        field = entity.field(name)
        if field is None or field.read_only:
            continue
        if not _same(field.type, value, theirs.get(name)):
            return False
    return True
