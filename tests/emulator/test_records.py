"""Create, read, update, upsert and delete with etags, lookups and the service's errors."""

from __future__ import annotations

import uuid

import httpx

from tui_crm.emulator.dataverse import DataverseEmulator

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOOKUP = "@Microsoft.Dynamics.CRM.lookuplogicalname"


def _first_account(emulator: DataverseEmulator) -> str:
    return str(emulator.records("account")[0]["accountid"])


def test_create_returns_204_with_entity_id_and_the_record_reads_back(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    created = api.post("accounts", json={"name": "Contoso", "telephone1": "555-0100"})
    assert created.status_code == 204 and created.content == b""
    entity_url = created.headers["OData-EntityId"]
    assert entity_url.startswith(f"{emulator.api_url}accounts(")
    record_id = entity_url[entity_url.index("(") + 1 : -1]
    uuid.UUID(record_id)
    read = api.get(f"accounts({record_id})")
    assert read.status_code == 200
    body = read.json()
    assert body["@odata.context"] == f"{emulator.api_url}$metadata#accounts/$entity"
    assert body["name"] == "Contoso" and body["telephone1"] == "555-0100"
    assert body["websiteurl"] is None  # every column, unset ones as null
    assert body["@odata.etag"] == f'W/"{body["versionnumber"]}"'
    assert body["_ownerid_value"] == emulator.user.id and body["statecode"] == 0
    assert body["createdon"].endswith("Z") and len(body["createdon"]) == 20


def test_client_supplied_id_and_duplicate_refused(api: httpx.Client) -> None:
    record_id = str(uuid.uuid4())
    first = api.post("contacts", json={"contactid": record_id, "lastname": "Smith"})
    assert first.status_code == 204
    assert first.headers["OData-EntityId"].endswith(f"contacts({record_id})")
    again = api.post("contacts", json={"contactid": record_id, "lastname": "Smith"})
    assert again.status_code == 412
    assert again.json()["error"]["message"] == "A record with matching key values already exists."


def test_return_representation_gives_201_with_the_body(api: httpx.Client) -> None:
    response = api.post(
        "accounts?$select=name",
        json={"name": "Fabrikam"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "return=representation"
    assert "OData-EntityId" not in response.headers
    body = response.json()
    assert body["name"] == "Fabrikam" and body["@odata.etag"].startswith('W/"')
    assert set(body) == {"@odata.context", "@odata.etag", "name", "accountid"}


def test_update_with_stale_etag_is_412_and_current_etag_works(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    record_id = _first_account(emulator)
    etag = api.get(f"accounts({record_id})").json()["@odata.etag"]
    emulator.update("account", record_id, {"name": "changed by a colleague"})
    stale = api.patch(f"accounts({record_id})", json={"name": "mine"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert "RowVersion" in stale.json()["error"]["message"]
    assert emulator.get("account", record_id)["name"] == "changed by a colleague"  # type: ignore[index]
    fresh = api.get(f"accounts({record_id})").json()
    ok = api.patch(
        f"accounts({record_id})", json={"name": "mine"}, headers={"If-Match": fresh["@odata.etag"]}
    )
    assert ok.status_code == 204
    after = api.get(f"accounts({record_id})").json()
    assert after["name"] == "mine" and after["versionnumber"] > fresh["versionnumber"]
    assert after["_modifiedby_value"] == emulator.user.id


def test_conditional_get_304_and_delete_with_stale_etag(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    record_id = _first_account(emulator)
    etag = api.get(f"accounts({record_id})").json()["@odata.etag"]
    assert api.get(f"accounts({record_id})", headers={"If-None-Match": etag}).status_code == 304
    assert api.get(f"accounts({record_id})", headers={"If-None-Match": "null"}).status_code == 200
    emulator.update("account", record_id, {"telephone1": "1"})
    assert api.delete(f"accounts({record_id})", headers={"If-Match": etag}).status_code == 412
    assert api.delete(f"accounts({record_id})").status_code == 204
    assert api.get(f"accounts({record_id})").status_code == 404
    missing = api.delete(f"accounts({record_id})")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"account With Id = {record_id} Does Not Exist"


def test_upsert_creates_then_updates_and_preconditions_restrict_it(api: httpx.Client) -> None:
    record_id = str(uuid.uuid4())
    update_only = api.patch(f"accounts({record_id})", json={"name": "x"}, headers={"If-Match": "*"})
    assert update_only.status_code == 404
    created = api.patch(f"accounts({record_id})", json={"name": "upserted"})
    assert created.status_code == 204
    create_only = api.patch(
        f"accounts({record_id})", json={"name": "again"}, headers={"If-None-Match": "*"}
    )
    assert create_only.status_code == 412
    updated = api.patch(f"accounts({record_id})", json={"name": "updated"})
    assert updated.status_code == 204
    assert api.get(f"accounts({record_id})").json()["name"] == "updated"
    with_body = api.patch(
        f"accounts({record_id})", json={"name": "z"}, headers={"Prefer": "return=representation"}
    )
    assert with_body.status_code == 200 and with_body.json()["name"] == "z"


def test_lookups_bind_read_as_value_and_annotate_on_request(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    account_id = _first_account(emulator)
    account_name = emulator.get("account", account_id)["name"]  # type: ignore[index]
    response = api.post(
        "contacts",
        json={
            "lastname": "Bound",
            "parentcustomerid_account@odata.bind": f"/accounts({account_id})",
        },
    )
    assert response.status_code == 204
    url = response.headers["OData-EntityId"]
    plain = api.get(url).json()
    assert plain["_parentcustomerid_value"] == account_id
    assert not any("@" in key for key in plain if key != "@odata.etag" and key != "@odata.context")
    annotated = api.get(url, headers={"Prefer": 'odata.include-annotations="*"'}).json()
    assert annotated["_parentcustomerid_value" + FORMATTED] == account_name
    assert annotated["_parentcustomerid_value" + LOOKUP] == "account"
    assert (
        annotated["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]
        == "parentcustomerid_account"
    )
    assert annotated["statecode" + FORMATTED] == "Active"
    cleared = api.patch(url, json={"parentcustomerid_account@odata.bind": None})
    assert cleared.status_code == 204
    assert api.get(url).json()["_parentcustomerid_value"] is None


def test_deleting_a_target_clears_lookups_pointing_at_it(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    account_id = emulator.create("account", {"name": "Target"})
    contact_id = emulator.create(
        "contact",
        {"lastname": "Ref", "parentcustomerid_account@odata.bind": f"accounts({account_id})"},
    )
    emulator.delete("account", account_id)
    assert emulator.get("contact", contact_id)["_parentcustomerid_value"] is None  # type: ignore[index]


def test_invalid_bodies_get_the_services_errors(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    too_long = api.post("accounts", json={"name": "x" * 161})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "0x80044331"
    assert "maximum allowed length of '160'" in too_long.json()["error"]["message"]
    bad_option = api.post("accounts", json={"name": "a", "industrycode": 999})
    assert bad_option.status_code == 400 and "outside the valid range" in bad_option.text
    wrong_type = api.post("accounts", json={"name": "a", "numberofemployees": "many"})
    assert wrong_type.status_code == 400 and "Edm.Int32" in wrong_type.text
    unknown = api.post("accounts", json={"name": "a", "colour": "red"})
    assert unknown.status_code == 400 and "'colour' does not exist" in unknown.text
    raw_lookup = api.post(
        "contacts", json={"lastname": "a", "_parentcustomerid_value": str(uuid.uuid4())}
    )
    assert raw_lookup.status_code == 400
    bad_nav = api.post(
        "contacts", json={"lastname": "a", "parentcustomerid@odata.bind": "/accounts(x)"}
    )
    assert bad_nav.status_code == 400 and "undeclared property" in bad_nav.text
    ghost = str(uuid.uuid4())
    dangling = api.post(
        "contacts",
        json={"lastname": "a", "parentcustomerid_account@odata.bind": f"/accounts({ghost})"},
    )
    assert dangling.status_code == 404 and ghost in dangling.text
    latitude = api.post("accounts", json={"name": "a", "address1_latitude": 91.0})
    assert latitude.status_code == 400
    malformed = api.post(
        "accounts", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["message"]
    assert emulator.count("account") == 12  # nothing of the above was written


def test_paths_and_methods_the_service_refuses(api: httpx.Client) -> None:
    assert api.get("widgets").status_code == 404
    assert "Resource not found for the segment 'widgets'" in api.get("widgets").text
    assert api.patch("accounts", json={}).status_code == 405
    assert api.delete("accounts").status_code == 405
    assert api.get("accounts(not-a-guid)").status_code == 400
    assert api.get("accounts?$skip=2").status_code == 400


def test_latitude_is_kept_to_five_decimals_and_single_property_operations(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    record_id = emulator.create("account", {"name": "Geo", "address1_latitude": 47.639583})
    assert emulator.get("account", record_id)["address1_latitude"] == 47.63958  # type: ignore[index]
    assert api.put(f"accounts({record_id})/telephone1", json={"value": "777"}).status_code == 204
    assert api.get(f"accounts({record_id})/telephone1").json()["value"] == "777"
    assert api.delete(f"accounts({record_id})/telephone1").status_code == 204
    assert emulator.get("account", record_id)["telephone1"] is None  # type: ignore[index]


def test_who_am_i_and_python_api_changes_are_made_by_another_user(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    who = api.get("WhoAmI").json()
    assert who["UserId"] == emulator.user.id
    assert who["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
    record_id = emulator.create("task", {"subject": "Call"})
    task = api.get(f"tasks({record_id})").json()
    assert task["_createdby_value"] == emulator.other_user.id != who["UserId"]
    assert task["activityid"] == record_id


def test_retrieve_total_record_count_inline_and_by_alias(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    accounts = emulator.count("account")
    contacts = emulator.count("contact")
    inline = api.get("RetrieveTotalRecordCount(EntityNames=['account','contact'])")
    assert inline.status_code == 200, inline.text
    body = inline.json()
    assert body["@odata.context"].endswith(
        "$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse"
    )
    assert body["EntityRecordCountCollection"] == {
        "Count": 2,
        "IsReadOnly": False,
        "Keys": ["account", "contact"],
        "Values": [accounts, contacts],
    }
    alias = api.get("RetrieveTotalRecordCount(EntityNames=@p1)", params={"@p1": '["contact"]'})
    assert alias.json()["EntityRecordCountCollection"]["Values"] == [contacts]
    unknown = api.get("RetrieveTotalRecordCount(EntityNames=['widget'])")
    assert unknown.status_code == 404 and "widget" in unknown.json()["error"]["message"]
    garbled = api.get("RetrieveTotalRecordCount(EntityNames=account)")
    assert garbled.status_code == 400
