"""The documented Dataverse error body, raised anywhere in the emulator and rendered once."""

from __future__ import annotations

import json

# Codes the real service uses for these cases (as seen in its documentation).
NOT_FOUND = "0x80040217"
DUPLICATE = "0x80040237"
VALIDATION = "0x80044331"
BAD_PROPERTY = "0x80060888"
BAD_PAYLOAD = "0x80048d19"
CONCURRENCY = "0x80060882"
BAD_QUERY = "0x80060888"
THROTTLED_REQUESTS = "0x80072322"
UNAVAILABLE = "0x80040216"
NOT_SUPPORTED = "0x8006088a"


class ODataError(Exception):
    """A failure the client should see as `{"error": {"code", "message"}}` with a status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        return json.dumps({"error": {"code": self.code, "message": self.message}}).encode()


def property_not_found(name: str, entity: str) -> ODataError:
    return ODataError(
        400,
        BAD_PROPERTY,
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity}'.",
    )


def record_missing(entity: str, record_id: str) -> ODataError:
    return ODataError(404, NOT_FOUND, f"{entity} With Id = {record_id} Does Not Exist")
