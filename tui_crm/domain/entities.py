"""Entity and field definitions: the metadata that drives forms, validation and sync.

Backends describe themselves with metadata; we keep that shape instead of
hard-coding classes per entity, so a custom field on the server shows up in
the form without a release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    PICKLIST = "picklist"
    LOOKUP = "lookup"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    UNIQUEIDENTIFIER = "uniqueidentifier"


TEXTUAL_TYPES = frozenset(
    {FieldType.TEXT, FieldType.MULTILINE, FieldType.EMAIL, FieldType.PHONE, FieldType.URL}
)


@dataclass(frozen=True, slots=True)
class PicklistOption:
    value: int
    label: str


@dataclass(frozen=True, slots=True)
class LookupRef:
    """A lookup value: polymorphic lookups (customer, regarding) need the target entity."""

    entity: str
    id: str

    def to_json(self) -> dict[str, str]:
        return {"entity": self.entity, "id": self.id}


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    label: str
    type: FieldType
    required: bool = False
    max_length: int | None = None
    read_only: bool = False
    options: tuple[PicklistOption, ...] = ()
    targets: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None

    def option_label(self, value: int) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.label
        return None


@dataclass(frozen=True, slots=True)
class EntityDef:
    name: str
    label: str
    plural_label: str
    primary_key: str
    primary_name: str
    fields: tuple[FieldDef, ...]
    entity_set: str = ""
    latitude_field: str | None = None
    longitude_field: str | None = None
    list_columns: tuple[str, ...] = ()
    _by_name: dict[str, FieldDef] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    searchable_fields: tuple[str, ...] = field(
        default=(), init=False, repr=False, compare=False, hash=False
    )
    """Text-like fields other than the primary name (which has its own FTS column):
    worked out once, because a pull asks for them once per row."""
    lookup_fields: tuple[str, ...] = field(
        default=(), init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})
        object.__setattr__(
            self,
            "searchable_fields",
            tuple(
                f.name
                for f in self.fields
                if f.type in TEXTUAL_TYPES and f.name != self.primary_name
            ),
        )
        lookups = tuple(f.name for f in self.fields if f.type is FieldType.LOOKUP)
        object.__setattr__(self, "lookup_fields", lookups)

    def field(self, name: str) -> FieldDef | None:
        return self._by_name.get(name)

    def has_field(self, name: str) -> bool:
        return name in self._by_name

    @property
    def has_position(self) -> bool:
        return self.latitude_field is not None and self.longitude_field is not None

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns a list shows: the declared ones, else the name and a few useful fields."""
        if self.list_columns:
            return self.list_columns
        picked = [self.primary_name]
        for f in self.fields:
            if len(picked) >= 4:
                break
            if f.name not in picked and f.type in (FieldType.EMAIL, FieldType.PHONE):
                picked.append(f.name)
        return tuple(picked)
