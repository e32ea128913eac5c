"""Invalid writes are refused with the field named, and change nothing at all."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tui_crm.domain import ValidationFailed
from tui_crm.services import Session

MISSING = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"

BAD_VALUES: list[tuple[str, str, Any]] = [
    ("account", "name", "x" * 161),
    ("account", "name", None),
    ("account", "name", 42),
    ("account", "emailaddress1", "nobody"),
    ("account", "telephone1", "phone me"),
    ("account", "websiteurl", "javascript:alert(1)"),
    ("account", "numberofemployees", 2.5),
    ("account", "numberofemployees", "12"),
    ("account", "revenue", math.nan),
    ("account", "revenue", True),
    ("account", "industrycode", 0),
    ("account", "address1_latitude", 91.0),
    ("account", "address1_longitude", 181.0),
    ("account", "parentaccountid", {"entity": "account", "id": MISSING}),
    ("account", "parentaccountid", {"entity": "contact", "id": MISSING}),
    ("account", "accountid", MISSING),
    ("account", "unknownfield", "x"),
    ("contact", "birthdate", "1990-13-01"),
    ("contact", "fullname", "Set By Hand"),
    ("appointment", "scheduledstart", "2024-01-01"),
    ("appointment", "isalldayevent", "yes"),
    ("task", "percentcomplete", 101),
    ("opportunity", "estimatedclosedate", "soon"),
]

VALID = {
    "account": {"name": "Valid Ltd"},
    "contact": {"lastname": "Valid"},
    "appointment": {"subject": "Visit"},
    "task": {"subject": "Todo"},
    "opportunity": {"name": "Deal"},
}


@pytest.mark.parametrize(("entity", "field", "value"), BAD_VALUES)
async def test_bad_update_is_refused_and_changes_nothing(
    session: Session, entity: str, field: str, value: Any
) -> None:
    records = session.records
    created = await records.create(entity, VALID[entity])
    before = await records.get(entity, created.id)
    outbox_before = await records.outbox()
    with pytest.raises(ValidationFailed) as caught:
        await records.update(entity, created.id, {field: value, **_harmless(entity)})
    assert field in caught.value.errors
    assert field in str(caught.value)
    assert await records.get(entity, created.id) == before
    assert await records.outbox() == outbox_before


@pytest.mark.parametrize(("entity", "field", "value"), BAD_VALUES)
async def test_bad_create_is_refused_and_writes_nothing(
    session: Session, entity: str, field: str, value: Any
) -> None:
    records = session.records
    with pytest.raises(ValidationFailed) as caught:
        await records.create(entity, {**VALID[entity], field: value})
    assert field in caught.value.errors
    assert (await records.counts())[entity] == 0
    assert await records.outbox() == []


def _harmless(entity: str) -> dict[str, Any]:
    """A valid change alongside the bad one, to show the whole write is refused."""
    return {"description": "should not be stored"}
