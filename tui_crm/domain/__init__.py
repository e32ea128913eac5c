"""Plain data shared by every layer; imports nothing of ours."""

from tui_crm.domain.changes import Change, ChangeOp
from tui_crm.domain.conflicts import Conflict, ConflictPolicy
from tui_crm.domain.entities import EntityDef, FieldDef, FieldType, LookupRef, PicklistOption
from tui_crm.domain.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    DomainError,
    EntityUnknown,
    FeatureOff,
    HostNotAllowed,
    LockedOut,
    ProfileDamaged,
    ProfileExists,
    ProfileMissing,
    RecordMissing,
    ValidationFailed,
    WrongPassword,
)
from tui_crm.domain.records import Page, PageCursor, Record, RecordState

__all__ = [
    "AuthenticationFailed",
    "Change",
    "ChangeOp",
    "Conflict",
    "ConflictPolicy",
    "ConnectionFailed",
    "DomainError",
    "EntityDef",
    "EntityUnknown",
    "FeatureOff",
    "FieldDef",
    "FieldType",
    "HostNotAllowed",
    "LockedOut",
    "LookupRef",
    "Page",
    "PageCursor",
    "PicklistOption",
    "ProfileDamaged",
    "ProfileExists",
    "ProfileMissing",
    "Record",
    "RecordMissing",
    "RecordState",
    "ValidationFailed",
    "WrongPassword",
]
