"""Errors the user can meet; each carries a message fit to show as one line.

Messages never contain record contents, passwords, tokens or keys.
"""

from __future__ import annotations

import math


class DomainError(Exception):
    """An expected failure: shown as one line, exit code 1 unless a subclass says otherwise."""

    exit_code = 1


class WrongPassword(DomainError):
    exit_code = 3

    def __init__(self, message: str = "wrong password", retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LockedOut(DomainError):
    """Too many failed attempts: the next try is allowed only after `retry_after` seconds."""

    exit_code = 3

    def __init__(self, retry_after: float) -> None:
        # Rounded up: "try again in 0 s" while still locked would be a lie.
        super().__init__(f"locked after failed attempts: try again in {math.ceil(retry_after)} s")
        self.retry_after = retry_after


class ProfileMissing(DomainError):
    pass


class ProfileExists(DomainError):
    pass


class ProfileDamaged(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"profile damaged: {detail}")


class EntityUnknown(DomainError):
    def __init__(self, entity: str) -> None:
        super().__init__(f"unknown entity: {entity}")
        self.entity = entity


class RecordMissing(DomainError):
    def __init__(self, entity: str, record_id: str) -> None:
        super().__init__(f"no {entity} with id {record_id}")
        self.entity = entity
        self.record_id = record_id


class ValidationFailed(DomainError):
    """One or more fields are invalid; `errors` maps field name to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        summary = "; ".join(f"{name}: {msg}" for name, msg in self.errors.items())
        super().__init__(f"invalid input: {summary}")


class ConnectionFailed(DomainError):
    """The server could not be reached or answered unusably; local data is untouched."""


class AuthenticationFailed(DomainError):
    pass


class HostNotAllowed(DomainError):
    def __init__(self, host: str) -> None:
        super().__init__(f"refused: {host} is not a configured server")
        self.host = host


class FeatureOff(DomainError):
    """A feature the user turned off (e.g. Map) was asked for."""


class InsecureConnection(DomainError):
    """Plain `http://` to anything but loopback: credentials and records would travel in clear."""

    def __init__(self, host: str) -> None:
        super().__init__(f"refused: plain http:// to {host} (use https://)")
        self.host = host
