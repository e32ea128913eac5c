"""The backend-neutral connector contract the sync engine and online mode talk to.

Dataverse, Salesforce and Resco each implement `Connector`; the engine never
sees a URL or a wire format. Versions are opaque strings compared for
equality only: every backend bumps them on change, so "different from the
base" is "newer than the base".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tui_crm.domain.entities import EntityDef
from tui_crm.domain.errors import ConnectionFailed


class DeltaExpired(ConnectionFailed):
    """The stored change-tracking link was refused: the entity needs a full pull."""


@dataclass(frozen=True, slots=True)
class RemoteRecord:
    """A record as the server holds it, already mapped to our field values."""

    id: str
    fields: dict[str, Any]
    version: str | None
    modified_on: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the next pull of an entity starts.

    kind `delta`: `value` is the backend's change-tracking link (a next-page
    link while an initial pull is under way, then the delta link).
    kind `watermark`: `value` is the last committed `modifiedon` (filtered
    entities, where change tracking cannot be combined with a filter).
    """

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class PullPage:
    """One page to commit together with `checkpoint`; `final` once the entity is up to date."""

    upserts: list[RemoteRecord]
    deletes: list[str]
    checkpoint: Checkpoint
    final: bool


@dataclass(frozen=True, slots=True)
class PushOp:
    """One write for the server: the collapsed pending changes of one record."""

    entity: str
    record_id: str
    op: str
    """'create', 'update' or 'delete'."""
    fields: dict[str, Any]
    base_version: str | None


@dataclass(frozen=True, slots=True)
class Applied:
    record: RemoteRecord | None
    """The server's record after the write (None after a delete)."""


@dataclass(frozen=True, slots=True)
class ConflictResult:
    server: RemoteRecord | None
    """The server's current record, None when the server deleted it."""


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    """One line fit to show the user (the server's validation message)."""
    retryable: bool = False


PushResult = Applied | ConflictResult | Rejected


@dataclass(frozen=True, slots=True)
class PullRequest:
    """What to pull for one entity: the synced fields and an optional server-side filter."""

    entity: EntityDef
    fields: Sequence[str]
    filter: str = ""
    checkpoint: Checkpoint | None = None
    page_size: int = 5000
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    backend: str

    async def authenticate(self) -> str:
        """Checks the credentials; returns the signed-in user's id."""
        ...

    async def fetch_metadata(self, entities: Sequence[str]) -> list[EntityDef]: ...

    def pull(self, request: PullRequest) -> AsyncIterator[PullPage]: ...

    async def pull_first_pages(self, requests: Sequence[PullRequest]) -> dict[str, PullPage]:
        """The next page of several resumed pulls in one round trip, where the backend can.

        Keyed by entity name; an entity left out (not batchable, or its part failed)
        pulls on its own. An empty answer is always correct.
        """
        ...

    def list_ids(self, entity: EntityDef, filter: str) -> AsyncIterator[list[str]]:
        """Ids of every server record matching `filter` (the deletion pass of watermark sync)."""
        ...

    async def record_counts(self, entities: Sequence[EntityDef]) -> dict[str, int]:
        """How many records each entity holds on the server, for a first pull's progress bar.

        An estimate (Dataverse answers from a snapshot up to a day old); entities the
        server will not count are left out, and a failure is an empty answer, never an error.
        """
        ...

    async def push(self, entity: EntityDef, op: PushOp) -> PushResult: ...

    async def push_many(
        self, entity_defs: dict[str, EntityDef], ops: Sequence[PushOp]
    ) -> list[PushResult]:
        """Several writes in as few round trips as the backend allows; results in order."""
        ...

    async def get(self, entity: EntityDef, record_id: str) -> RemoteRecord | None: ...

    async def query(
        self,
        entity: EntityDef,
        *,
        filter: str = "",
        order: str | None = None,
        descending: bool = False,
        top: int = 50,
    ) -> list[RemoteRecord]: ...

    async def aclose(self) -> None: ...
