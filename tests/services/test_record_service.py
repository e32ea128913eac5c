"""RecordService end to end on a real encrypted profile."""

from __future__ import annotations

import pytest

from tui_crm.domain import ChangeOp, RecordMissing, RecordState, ValidationFailed
from tui_crm.domain.errors import EntityUnknown
from tui_crm.services import ProfileLocked, ProfileService, Session


async def test_standard_entities_are_installed(session: Session) -> None:
    names = {e.name for e in await session.records.entities()}
    assert names == {
        "account",
        "contact",
        "lead",
        "opportunity",
        "appointment",
        "task",
        "phonecall",
        "email",
        "annotation",
    }
    account = await session.records.entity("account")
    assert account.primary_key == "accountid"
    assert account.field("address1_latitude") is not None


async def test_unknown_entity_is_a_clear_error(session: Session) -> None:
    with pytest.raises(EntityUnknown, match="unknown entity: widget"):
        await session.records.list("widget")


async def test_create_get_update_delete_round_trip(session: Session) -> None:
    records = session.records
    account = await records.create("account", {"name": "Acme", "telephone1": "+49 30 1234"})
    assert account.state == RecordState.CREATED
    assert (await records.get("account", account.id)).fields == {
        "name": "Acme",
        "telephone1": "+49 30 1234",
    }
    updated = await records.update("account", account.id, {"telephone1": None, "revenue": 12.5})
    assert updated.fields == {"name": "Acme", "revenue": 12.5}
    assert (await records.counts())["account"] == 1
    await records.delete("account", account.id)
    with pytest.raises(RecordMissing):
        await records.get("account", account.id)
    assert (await records.counts())["account"] == 0


async def test_outbox_coalesces_create_then_update_and_drops_unsent_create_on_delete(
    session: Session,
) -> None:
    records = session.records
    contact = await records.create("contact", {"firstname": "Jo", "lastname": "Smith"})
    await records.update("contact", contact.id, {"jobtitle": "CEO", "firstname": None})
    changes = await records.outbox()
    assert [(c.op, c.fields) for c in changes] == [
        (ChangeOp.CREATE, {"lastname": "Smith", "jobtitle": "CEO"})
    ]
    await records.delete("contact", contact.id)
    assert await records.outbox() == []


async def test_contact_full_name_is_derived_for_lists(session: Session) -> None:
    contact = await session.records.create("contact", {"firstname": "Ada", "lastname": "Lovelace"})
    assert contact.name == "Ada Lovelace"
    page = await session.records.list("contact", search="lov")
    assert [r.id for r in page.records] == [contact.id]


async def test_related_lists_records_pointing_at_a_record(session: Session) -> None:
    records = session.records
    account = await records.create("account", {"name": "Acme"})
    ref = {"entity": "account", "id": account.id}
    contact = await records.create("contact", {"lastname": "Smith", "parentcustomerid": ref})
    task = await records.create("task", {"subject": "Call", "regardingobjectid": ref})
    other = await records.create("account", {"name": "Other"})
    related = await records.related("account", account.id)
    assert {r.id for r in related} == {contact.id, task.id}
    assert await records.related("account", other.id) == []


async def test_lookup_to_missing_record_is_rejected(session: Session) -> None:
    ref = {"entity": "account", "id": "00000000-0000-4000-8000-000000000000"}
    with pytest.raises(ValidationFailed) as caught:
        await session.records.create("contact", {"lastname": "X", "parentcustomerid": ref})
    assert "parentcustomerid" in caught.value.errors
    assert (await session.records.counts())["contact"] == 0


async def test_data_survives_close_and_unlock(profiles: ProfileService, password: str) -> None:
    first = await profiles.create(password)
    created = await first.records.create("lead", {"lastname": "Doe", "companyname": "Initech"})
    await first.close()
    with pytest.raises(ProfileLocked):
        await first.records.counts()
    second = await profiles.unlock(password)
    try:
        assert (await second.records.get("lead", created.id)).fields["companyname"] == "Initech"
    finally:
        await second.close()


async def test_settings_never_keep_the_server_password_unless_asked(session: Session) -> None:
    settings = session.settings
    await settings.set_credentials({"url": "https://org.example", "password": "s3rver"})
    assert await settings.credentials() == {"url": "https://org.example"}
    await settings.set_save_password(True)
    await settings.set_credentials({"password": "s3rver"})
    assert (await settings.credentials())["password"] == "s3rver"
    await settings.set_save_password(False)
    assert "password" not in await settings.credentials()
    await settings.set("map_last_position", [52.5, 13.4])
    assert await settings.get("map_last_position") == [52.5, 13.4]
