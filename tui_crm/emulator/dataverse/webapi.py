"""The Web API v9.2 resource paths: WhoAmI, entity sets, records, properties, $ref.

Handlers are plain synchronous functions from an `ApiRequest` to an
`ApiResponse`, so the HTTP layer and `$batch` (which replays requests found
inside a multipart body) share one implementation. Metadata lives in
`metadata_api.py`, `$batch` in `batch.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from tui_crm.emulator.dataverse.data import DataStore, Deleted, LookupWrite, Row
from tui_crm.emulator.dataverse.errors import BAD_QUERY, NOT_FOUND, NOT_SUPPORTED, ODataError
from tui_crm.emulator.dataverse.identity import User
from tui_crm.emulator.dataverse.metadata import (
    OPTION_TYPES,
    TABLES,
    TABLES_BY_NAME,
    TABLES_BY_SET,
    Attr,
    Table,
)
from tui_crm.emulator.dataverse.odata import (
    Preferences,
    bad_query,
    parse_filter,
    parse_orderby,
    parse_prefer,
    parse_select,
)
from tui_crm.emulator.dataverse.payload import Payload, is_guid, new_id, parse_payload
from tui_crm.emulator.dataverse.render import Annotations, row_document, row_fragment

MAX_PAGE = 5000
COUNT_CAP = 5000
JSON_TYPE = "application/json; odata.metadata=minimal"

_RESOURCE = re.compile(
    r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:\((?P<key>[^)]*)\))?"
    r"(?:/(?P<prop>[A-Za-z_][A-Za-z0-9_]*|\$count))?"
    r"(?:/(?P<ref>\$ref))?$"
)
_TOTAL_RECORD_COUNT = re.compile(r"RetrieveTotalRecordCount\(EntityNames=(?P<names>[^)]*)\)")
_COOKIE = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class ApiRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    user: User
    root: str  # absolute service root ending in '/', e.g. http://127.0.0.1:8/api/data/v9.2/
    prefer: list[str] = field(default_factory=list)

    def preferences(self) -> Preferences:
        return parse_prefer(self.prefer)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> ApiResponse:
    merged = {"Content-Type": JSON_TYPE, "OData-Version": "4.0"}
    if headers:
        merged.update(headers)
    return ApiResponse(status, merged, body)


def no_content(status: int = 204, headers: dict[str, str] | None = None) -> ApiResponse:
    merged = {"OData-Version": "4.0"}
    if headers:
        merged.update(headers)
    return ApiResponse(status, merged)


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def delta_token(version: int, moment: datetime) -> str:
    """Same shape as the service's tokens: `<version>!<MM/dd/yyyy HH:mm:ss>`."""
    return f"{version}!{moment.astimezone(UTC).strftime('%m/%d/%Y %H:%M:%S')}"


class WebApi:
    """Entity-set and record endpoints over one `DataStore`."""

    def __init__(self, store: DataStore, *, organization_id: str, business_unit_id: str) -> None:
        self.store = store
        self.organization_id = organization_id
        self.business_unit_id = business_unit_id
        # Delta tokens older than this version are refused, as expired ones are.
        self.oldest_delta_version = 0
        self.metadata_handler: Callable[[ApiRequest], ApiResponse] | None = None

    # --- dispatch --------------------------------------------------------------

    def handle(self, request: ApiRequest) -> ApiResponse:
        path = request.path.strip("/")
        if path in ("WhoAmI", "WhoAmI()"):
            return self.who_am_i(request)
        counted = _TOTAL_RECORD_COUNT.fullmatch(path)
        if counted is not None:
            return self.total_record_count(request, counted.group("names"))
        if path == "":
            return self.service_document(request)
        if path.startswith("EntityDefinitions") and self.metadata_handler is not None:
            return self.metadata_handler(request)
        match = _RESOURCE.match(path)
        if match is None:
            raise ODataError(404, NOT_SUPPORTED, f"Resource not found for the segment '{path}'.")
        table = TABLES_BY_SET.get(match.group("set"))
        if table is None:
            raise ODataError(
                404, NOT_SUPPORTED, f"Resource not found for the segment '{match.group('set')}'."
            )
        key, prop, ref = match.group("key"), match.group("prop"), match.group("ref")
        if key is None:
            if prop == "$count":
                return self.count(request, table)
            if prop is not None:
                raise ODataError(
                    404, NOT_SUPPORTED, f"Resource not found for the segment '{prop}'."
                )
            if request.method == "GET":
                return self.get_collection(request, table)
            if request.method == "POST":
                return self.create(request, table)
            raise _method_not_allowed(request.method)
        record_id = _parse_key(key, table)
        if prop is not None:
            return self.property(request, table, record_id, prop, ref is not None)
        if request.method == "GET":
            return self.get_record(request, table, record_id)
        if request.method == "PATCH":
            return self.patch(request, table, record_id)
        if request.method == "DELETE":
            self.store.delete(table.logical, record_id, if_match=request.headers.get("If-Match"))
            return no_content()
        raise _method_not_allowed(request.method)

    def who_am_i(self, request: ApiRequest) -> ApiResponse:
        return json_response(
            200,
            dump(
                {
                    "@odata.context": request.root
                    + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    "BusinessUnitId": self.business_unit_id,
                    "UserId": request.user.id,
                    "OrganizationId": self.organization_id,
                }
            ),
        )

    def total_record_count(self, request: ApiRequest, names_argument: str) -> ApiResponse:
        """The `RetrieveTotalRecordCount` function: rows per table, for progress estimates.

        The service answers from a snapshot up to a day old; the emulator counts now.
        The argument comes inline (`['account']`) or as a parameter alias (`@p1`).
        """
        if request.method != "GET":
            raise _method_not_allowed(request.method)
        if names_argument.startswith("@"):
            names_argument = request.query.get(names_argument, "")
        try:
            names = json.loads(names_argument.replace("'", '"'))
        except ValueError:
            names = None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ODataError(
                400, BAD_QUERY, "EntityNames must be a collection of entity logical names."
            )
        for name in names:
            if name not in TABLES_BY_NAME:
                raise ODataError(
                    404, NOT_FOUND, f"Could not find an entity with the name '{name}'."
                )
        return json_response(
            200,
            dump(
                {
                    "@odata.context": request.root
                    + "$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse",
                    "EntityRecordCountCollection": {
                        "Count": len(names),
                        "IsReadOnly": False,
                        "Keys": names,
                        "Values": [self.store.count(name) for name in names],
                    },
                }
            ),
        )

    def service_document(self, request: ApiRequest) -> ApiResponse:
        return json_response(
            200,
            dump(
                {
                    "@odata.context": request.root + "$metadata",
                    "value": [
                        {"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set}
                        for t in TABLES
                    ],
                }
            ),
        )

    # --- reading ---------------------------------------------------------------

    def _select(self, request: ApiRequest, table: Table) -> tuple[str, ...] | None:
        text = request.query.get("$select")
        if text is None:
            return None
        return parse_select(text, lambda name: name in table.wire_attrs(), table.logical)

    def get_collection(self, request: ApiRequest, table: Table) -> ApiResponse:
        prefs = request.preferences()
        query = request.query
        select = self._select(request, table)
        annotations = Annotations.from_patterns(prefs.annotations)
        if "$skip" in query:
            raise bad_query("The query parameter $skip is not supported")
        cookie = _read_cookie(query.get("$skiptoken"))
        # A tracked read's next pages stay tracked even if the header is not repeated.
        track_changes = prefs.track_changes or cookie.get("istracking") == "true"
        tracking = track_changes or "$deltatoken" in query
        if tracking:
            for option in ("$filter", "$orderby", "$expand", "$top"):
                if option in query:
                    raise bad_query(
                        f'The "{option}" query parameter isn\'t supported when Change '
                        "Tracking is enabled."
                    )
        if "$expand" in query:
            raise ODataError(501, NOT_SUPPORTED, "$expand is not supported by this emulator.")
        page_size = min(prefs.max_page_size or MAX_PAGE, MAX_PAGE)
        applied: list[str] = []
        if prefs.max_page_size is not None:
            applied.append(f"odata.maxpagesize={page_size}")
        if prefs.track_changes:
            applied.append("odata.track-changes")
        if annotations.any:
            applied.append(annotations.header(prefs.annotations))
        headers = {"Preference-Applied": ",".join(applied)} if applied else {}
        if "$deltatoken" in query:
            body = self._delta_page(request, table, select, annotations, page_size, cookie)
        elif track_changes:
            body = self._tracked_page(request, table, select, annotations, page_size, cookie)
        else:
            body = self._query_page(request, table, select, annotations, page_size, cookie, prefs)
        return json_response(200, body, headers)

    def _context(self, request: ApiRequest, table: Table, select: tuple[str, ...] | None) -> str:
        suffix = f"({','.join(select)})" if select else ""
        return f"{request.root}$metadata#{table.entity_set}{suffix}"

    def _link(self, request: ApiRequest, table: Table, params: dict[str, str]) -> str:
        kept = {k: v for k, v in request.query.items() if k not in ("$skiptoken", "$deltatoken")}
        kept.update(params)
        encoded = "&".join(f"{k}={quote(v, safe=',()')}" for k, v in kept.items())
        return f"{request.root}{table.entity_set}?{encoded}"

    def _page_body(
        self,
        context: str,
        fragments: list[bytes],
        *,
        next_link: str | None = None,
        delta_link: str | None = None,
        count: int | None = None,
    ) -> bytes:
        head = b'{"@odata.context":' + dump(context)
        if count is not None:
            head += b',"@odata.count":' + str(count).encode()
        if delta_link is not None:
            head += b',"@odata.deltaLink":' + dump(delta_link)
        tail = b"]"
        if next_link is not None:
            tail += b',"@odata.nextLink":' + dump(next_link)
        return head + b',"value":[' + b",".join(fragments) + tail + b"}"

    def _fragment(
        self, table: Table, row: Row, select: tuple[str, ...] | None, annotations: Annotations
    ) -> bytes:
        return row_fragment(self.store, table, row, select, annotations)

    def _query_page(
        self,
        request: ApiRequest,
        table: Table,
        select: tuple[str, ...] | None,
        annotations: Annotations,
        page_size: int,
        cookie: dict[str, str],
        prefs: Preferences,
    ) -> bytes:
        query = request.query
        wire = table.wire_attrs()
        predicate = None
        if "$filter" in query:
            predicate = parse_filter(
                query["$filter"],
                lambda name: _value_kind(wire.get(name)),
                table.logical,
                user_id=request.user.id,
            )
        order = None
        if "$orderby" in query:
            order = parse_orderby(query["$orderby"], lambda name: name in wire, table.logical)
        top: int | None = None
        if "$top" in query:
            try:
                top = int(query["$top"])
            except ValueError as error:
                raise bad_query(f"Invalid $top '{query['$top']}'.") from error
            if top < 0:
                raise bad_query(f"Invalid $top '{query['$top']}'.")
        limit = page_size
        if top is not None and prefs.max_page_size is None:
            limit = min(top, MAX_PAGE)
        want_count = query.get("$count", "").lower() == "true"
        page_number = int(cookie.get("pagenumber", "1"))
        with self.store.lock:
            if order is None:
                rows, more = _take(
                    self.store.scan(table.logical, cookie.get("last")), predicate, limit
                )
            else:
                rows, more = self._ordered(table, predicate, order, cookie, limit)
            if top is not None and prefs.max_page_size is None:
                more = False
            fragments = [self._fragment(table, row, select, annotations) for row in rows]
            count = None
            if want_count:
                total = sum(
                    1
                    for row in self.store.scan(table.logical, None)
                    if predicate is None or predicate(row.values)
                )
                count = min(total, COUNT_CAP)
        next_link = None
        if more and rows:
            next_link = self._link(
                request,
                table,
                {
                    "$skiptoken": _write_cookie(
                        page_number + 1,
                        table,
                        rows[0].id,
                        rows[-1].id,
                        offset=int(cookie.get("offset", "0")) + len(rows),
                        tracking=False,
                    )
                },
            )
        return self._page_body(
            self._context(request, table, select), fragments, next_link=next_link, count=count
        )

    def _ordered(
        self,
        table: Table,
        predicate: Callable[[Mapping[str, Any]], bool] | None,
        order: tuple[tuple[str, bool], ...],
        cookie: dict[str, str],
        limit: int,
    ) -> tuple[list[Row], bool]:
        """$orderby: sort the matches (stable, key by key), resume after the cookie's row."""
        rows = [
            row
            for row in self.store.scan(table.logical, None)
            if predicate is None or predicate(row.values)
        ]
        for name, descending in reversed(order):
            rows.sort(key=_column_key(name), reverse=descending)
        start = 0
        last = cookie.get("last")
        if last is not None:
            positions = {row.id: index for index, row in enumerate(rows)}
            start = positions[last] + 1 if last in positions else int(cookie.get("offset", "0"))
        chunk = rows[start : start + limit]
        return chunk, start + limit < len(rows)

    def _tracked_page(
        self,
        request: ApiRequest,
        table: Table,
        select: tuple[str, ...] | None,
        annotations: Annotations,
        page_size: int,
        cookie: dict[str, str],
    ) -> bytes:
        """The initial change-tracking read: every row, then a delta link from the start."""
        with self.store.lock:
            start_version = int(cookie.get("version", str(self.store.version)))
            rows, more = _take(self.store.scan(table.logical, cookie.get("last")), None, page_size)
            fragments = [self._fragment(table, row, select, annotations) for row in rows]
        page_number = int(cookie.get("pagenumber", "1"))
        if more and rows:
            next_link = self._link(
                request,
                table,
                {
                    "$skiptoken": _write_cookie(
                        page_number + 1,
                        table,
                        rows[0].id,
                        rows[-1].id,
                        tracking=True,
                        version=start_version,
                    )
                },
            )
            return self._page_body(
                self._context(request, table, select), fragments, next_link=next_link
            )
        delta_link = self._link(
            request, table, {"$deltatoken": delta_token(start_version, self.store.clock())}
        )
        return self._page_body(
            self._context(request, table, select), fragments, delta_link=delta_link
        )

    def _since(self, token: str) -> int:
        version_text = token.split("!", 1)[0]
        if not version_text.isdigit() or int(version_text) > self.store.version:
            raise bad_query(f"The delta token '{token}' is not valid.")
        since = int(version_text)
        if since < self.oldest_delta_version:
            raise bad_query(
                f"The delta token '{token}' has expired; changes are kept for a limited "
                "time. Retrieve the full set again."
            )
        return since

    def _delta_page(
        self,
        request: ApiRequest,
        table: Table,
        select: tuple[str, ...] | None,
        annotations: Annotations,
        page_size: int,
        cookie: dict[str, str],
    ) -> bytes:
        """Rows changed since the token in full, then `$deletedEntity` entries."""
        token = request.query["$deltatoken"]
        since = self._since(token)
        entries: list[bytes] = []
        deleted_context = dump(f"{request.root}$metadata#{table.entity_set}/$deletedEntity")
        with self.store.lock:
            upto = int(cookie.get("upto", str(self.store.version)))
            after = int(cookie.get("after", str(since)))
            last_version = after
            more = False
            for change in self.store.changes_since(table.logical, after, upto):
                if len(entries) >= page_size:
                    more = True
                    break
                last_version = change.version
                if isinstance(change, Deleted):
                    entries.append(
                        b'{"@odata.context":'
                        + deleted_context
                        + b',"id":'
                        + dump(change.id)
                        + b',"reason":"deleted"}'
                    )
                else:
                    entries.append(self._fragment(table, change, select, annotations))
        context = self._context(request, table, select) + "/$delta"
        if more:
            next_link = self._link(
                request,
                table,
                {
                    "$deltatoken": token,
                    "$skiptoken": _write_cookie(
                        int(cookie.get("pagenumber", "1")) + 1,
                        table,
                        "",
                        "",
                        tracking=True,
                        after=last_version,
                        upto=upto,
                    ),
                },
            )
            return self._page_body(context, entries, next_link=next_link)
        delta_link = self._link(
            request, table, {"$deltatoken": delta_token(upto, self.store.clock())}
        )
        return self._page_body(context, entries, delta_link=delta_link)

    def count(self, request: ApiRequest, table: Table) -> ApiResponse:
        """`accounts/$count` (capped like the service) or, with a delta token, the change count."""
        if request.method != "GET":
            raise _method_not_allowed(request.method)
        with self.store.lock:
            if "$deltatoken" in request.query:
                since = self._since(request.query["$deltatoken"])
                total = sum(
                    1 for _ in self.store.changes_since(table.logical, since, self.store.version)
                )
            else:
                total = self.store.count(table.logical)
        return ApiResponse(
            200,
            {"Content-Type": "text/plain", "OData-Version": "4.0"},
            str(min(total, COUNT_CAP)).encode(),
        )

    def get_record(self, request: ApiRequest, table: Table, record_id: str) -> ApiResponse:
        select = self._select(request, table)
        prefs = request.preferences()
        annotations = Annotations.from_patterns(prefs.annotations)
        with self.store.lock:
            row = self.store.get(table.logical, record_id)
            none_match = request.headers.get("If-None-Match")
            if (
                none_match
                and not annotations.any
                and row.etag in [part.strip() for part in none_match.split(",")]
            ):
                return no_content(304, {"ETag": row.etag})
            document = row_document(self.store, table, row, select, annotations)
        context = self._context(request, table, select) + "/$entity"
        headers = {"ETag": row.etag}
        if annotations.any:
            headers["Preference-Applied"] = annotations.header(prefs.annotations)
        return json_response(200, dump({"@odata.context": context, **document}), headers)

    # --- writing ---------------------------------------------------------------

    def _payload(self, request: ApiRequest, table: Table, *, creating: bool) -> Payload:
        try:
            body = json.loads(request.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ODataError(
                400, "0x80048d19", f"The request body is not valid JSON: {error}"
            ) from error
        return parse_payload(table, body, creating=creating)

    def _defaults(self, table: Table) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for attr in table.attrs:
            if attr.kind in ("State", "Status") and attr.options:
                values[attr.name] = attr.options[0][0]
            elif attr.kind == "Boolean":
                values[attr.name] = False
        return values

    def _entity_id(self, request: ApiRequest, table: Table, record_id: str) -> str:
        return f"{request.root}{table.entity_set}({record_id})"

    def _written(
        self, request: ApiRequest, table: Table, row: Row, *, created: bool
    ) -> ApiResponse:
        prefs = request.preferences()
        if prefs.return_representation:
            select = self._select(request, table)
            annotations = Annotations.from_patterns(prefs.annotations)
            document = row_document(self.store, table, row, select, annotations)
            context = self._context(request, table, select) + "/$entity"
            return json_response(
                201 if created else 200,
                dump({"@odata.context": context, **document}),
                {"Preference-Applied": "return=representation", "ETag": row.etag},
            )
        return no_content(204, {"OData-EntityId": self._entity_id(request, table, row.id)})

    def create(self, request: ApiRequest, table: Table) -> ApiResponse:
        payload = self._payload(request, table, creating=True)
        record_id = payload.record_id or new_id()
        with self.store.lock:
            row = self.store.insert(
                table.logical,
                record_id,
                payload.values,
                payload.lookups,
                user_id=request.user.id,
                defaults=self._defaults(table),
            )
            return self._written(request, table, row, created=True)

    def patch(self, request: ApiRequest, table: Table, record_id: str) -> ApiResponse:
        """Update, or upsert when no precondition says otherwise."""
        if_match = request.headers.get("If-Match")
        if_none_match = request.headers.get("If-None-Match")
        with self.store.lock:
            exists = self.store.find(table.logical, record_id) is not None
            if if_none_match is not None and if_none_match.strip() == "*" and exists:
                raise ODataError(
                    412, "0x80040237", "A record with matching key values already exists."
                )
            if exists or if_match is not None:
                payload = self._payload(request, table, creating=False)
                row = self.store.update(
                    table.logical,
                    record_id,
                    payload.values,
                    payload.lookups,
                    user_id=request.user.id,
                    if_match=if_match,
                )
                return self._written(request, table, row, created=False)
            payload = self._payload(request, table, creating=True)
            row = self.store.insert(
                table.logical,
                record_id,
                payload.values,
                payload.lookups,
                user_id=request.user.id,
                defaults=self._defaults(table),
            )
            return self._written(request, table, row, created=True)

    def property(
        self, request: ApiRequest, table: Table, record_id: str, name: str, ref: bool
    ) -> ApiResponse:
        """`accounts(id)/name` (GET, PUT, DELETE) and `accounts(id)/nav/$ref` (DELETE)."""
        if ref or name in table.navigation():
            if request.method != "DELETE" or name not in table.navigation():
                raise _method_not_allowed(request.method)
            attr, _targets = table.navigation()[name]
            self.store.update(
                table.logical,
                record_id,
                {},
                {attr.wire_name: LookupWrite(None, None)},
                user_id=request.user.id,
                if_match=request.headers.get("If-Match"),
            )
            return no_content()
        column = table.wire_attrs().get(name)
        if column is None:
            raise ODataError(404, NOT_SUPPORTED, f"Resource not found for the segment '{name}'.")
        if request.method == "GET":
            row = self.store.get(table.logical, record_id)
            return json_response(
                200,
                dump(
                    {
                        "@odata.context": (
                            f"{request.root}$metadata#{table.entity_set}({record_id})/{name}"
                        ),
                        "value": row.values.get(name),
                    }
                ),
            )
        if column.is_lookup:
            raise _method_not_allowed(request.method)
        if request.method == "PUT":
            try:
                body = json.loads(request.body or b"{}")
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ODataError(
                    400, "0x80048d19", "The request body is not valid JSON."
                ) from error
            if not isinstance(body, dict) or "value" not in body:
                raise ODataError(
                    400, "0x80048d19", 'A property value must be sent as {"value": ...}.'
                )
            payload = parse_payload(table, {name: body["value"]}, creating=False)
        elif request.method == "DELETE":
            payload = parse_payload(table, {name: None}, creating=False)
        else:
            raise _method_not_allowed(request.method)
        self.store.update(
            table.logical,
            record_id,
            payload.values,
            {},
            user_id=request.user.id,
            if_match=request.headers.get("If-Match"),
        )
        return no_content()


def _method_not_allowed(method: str) -> ODataError:
    return ODataError(
        405, NOT_SUPPORTED, f"The requested resource does not support http method '{method}'."
    )


def _parse_key(key: str, table: Table) -> str:
    text = unquote(key).strip()
    if text.startswith(f"{table.primary_id}="):
        text = text.split("=", 1)[1]
    text = text.strip("{}'")
    if not is_guid(text):
        raise bad_query(f"Bad Request - Error in query syntax: the key '{key}' is not a GUID.")
    return text.lower()


def _value_kind(attr: Attr | None) -> str | None:
    if attr is None:
        return None
    if attr.kind in ("String", "Memo", "EntityName"):
        return "string"
    if (
        attr.kind in ("Integer", "BigInt", "Double", "Decimal", "Money")
        or attr.kind in OPTION_TYPES
    ):
        return "number"
    if attr.kind == "Boolean":
        return "bool"
    if attr.kind == "DateTime":
        return "date" if attr.fmt == "DateOnly" else "datetime"
    return "guid"


def _column_key(name: str) -> Callable[[Row], tuple[int, Any]]:
    def key(row: Row) -> tuple[int, Any]:
        return _sort_key(row.values.get(name))

    return key


def _sort_key(value: Any) -> tuple[int, Any]:
    """SQL Server order: nulls first, strings without regard to case."""
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


def _take(
    rows: Any, predicate: Callable[[Mapping[str, Any]], bool] | None, limit: int
) -> tuple[list[Row], bool]:
    """Up to `limit` matching rows, and whether another one follows."""
    taken: list[Row] = []
    for row in rows:
        if predicate is not None and not predicate(row.values):
            continue
        if len(taken) == limit:
            return taken, True
        taken.append(row)
    return taken, False


def _write_cookie(
    page: int,
    table: Table,
    first: str,
    last: str,
    *,
    tracking: bool,
    offset: int = 0,
    version: int | None = None,
    after: int | None = None,
    upto: int | None = None,
) -> str:
    """A skiptoken in the service's shape: a <cookie> whose pagingcookie is URL-encoded XML."""
    extra = ""
    if version is not None:
        extra += f' version="{version}"'
    if after is not None:
        extra += f' after="{after}" upto="{upto}"'
    inner = (
        f'<cookie page="{page - 1}" offset="{offset}"{extra}>'
        f'<{table.primary_id} last="{{{last.upper()}}}" first="{{{first.upper()}}}" /></cookie>'
    )
    paging = quote(quote(inner, safe=""), safe="")
    return (
        f'<cookie pagenumber="{page}" pagingcookie="{paging}" '
        f'istracking="{"True" if tracking else "False"}" />'
    )


def _read_cookie(token: str | None) -> dict[str, str]:
    if token is None:
        return {}
    outer = dict(_COOKIE.findall(token))
    if "pagenumber" not in outer or "pagingcookie" not in outer:
        raise bad_query("The $skiptoken is not valid.")
    inner = unquote(unquote(outer["pagingcookie"]))
    fields = dict(_COOKIE.findall(inner))
    cookie = {"pagenumber": outer["pagenumber"], "istracking": outer.get("istracking", "").lower()}
    for name in ("offset", "version", "after", "upto"):
        if name in fields:
            cookie[name] = fields[name]
    last = fields.get("last", "").strip("{}").lower()
    if last:
        cookie["last"] = last
    for value in cookie.values():
        if not re.fullmatch(r"[0-9a-z-]*", value):
            raise ODataError(400, BAD_QUERY, "The $skiptoken is not valid.")
    return cookie
