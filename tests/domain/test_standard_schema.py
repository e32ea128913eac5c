"""The built-in schema is internally consistent and survives the JSON round trip."""

from __future__ import annotations

import pytest

from tui_crm.domain.entities import EntityDef, FieldType
from tui_crm.domain.standard_schema import STANDARD_ENTITIES
from tui_crm.store.entity_codec import entity_from_json, entity_to_json

NAMES = {e.name for e in STANDARD_ENTITIES}


@pytest.mark.parametrize("entity", STANDARD_ENTITIES, ids=lambda e: e.name)
def test_entity_is_consistent(entity: EntityDef) -> None:
    key = entity.field(entity.primary_key)
    assert key is not None and key.type == FieldType.UNIQUEIDENTIFIER and key.read_only
    assert entity.field(entity.primary_name) is not None
    assert len({f.name for f in entity.fields}) == len(entity.fields)
    assert entity.entity_set
    for column in entity.columns:
        assert entity.has_field(column), column
    for f in entity.fields:
        if f.type == FieldType.LOOKUP:
            assert f.targets and set(f.targets) <= NAMES, f.name
        if f.type == FieldType.PICKLIST:
            assert f.options and len({o.value for o in f.options}) == len(f.options), f.name
        if f.type in (FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL):
            assert f.max_length, f.name


@pytest.mark.parametrize("entity", STANDARD_ENTITIES, ids=lambda e: e.name)
def test_codec_round_trip(entity: EntityDef) -> None:
    assert entity_from_json(entity_to_json(entity)) == entity


def test_positions_and_dataverse_names() -> None:
    by_name = {e.name: e for e in STANDARD_ENTITIES}
    for name in ("account", "contact", "lead"):
        entity = by_name[name]
        assert entity.latitude_field == "address1_latitude"
        assert entity.longitude_field == "address1_longitude"
    account = by_name["account"]
    for field in (
        "accountnumber",
        "telephone1",
        "emailaddress1",
        "websiteurl",
        "revenue",
        "parentaccountid",
        "industrycode",
        "statecode",
        "description",
    ):
        assert account.has_field(field), field
    assert by_name["contact"].field("parentcustomerid").targets == ("account", "contact")  # type: ignore[union-attr]
    assert by_name["lead"].has_field("leadsourcecode")
    assert by_name["task"].has_field("regardingobjectid")
