"""Seeded data is deterministic; metadata has Dataverse's shape; the CLI serves loopback only."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys

import httpx
import pytest

from tui_crm.emulator.dataverse import DataverseEmulator

STANDARD = (
    "account",
    "contact",
    "lead",
    "opportunity",
    "appointment",
    "task",
    "phonecall",
    "email",
    "annotation",
)


def test_same_seed_same_org_other_seed_other_org() -> None:
    one = DataverseEmulator(records=30, seed=11)
    two = DataverseEmulator(records=30, seed=11)
    other = DataverseEmulator(records=30, seed=12)
    for entity in ("account", "contact", "appointment", "task"):
        assert one.records(entity) == two.records(entity)
    assert one.records("account") != other.records("account")
    assert one.count("account") == one.count("contact") == 30
    assert one.count("appointment") == one.count("task") == 6


def test_seeded_records_are_related_and_placed_around_the_centre() -> None:
    emulator = DataverseEmulator(
        records=40, seed=5, centre_latitude=-33.9, centre_longitude=151.2, radius_km=10
    )
    accounts = {a["accountid"]: a for a in emulator.records("account")}
    for contact in emulator.records("contact"):
        assert contact["_parentcustomerid_value"] in accounts
        assert contact["fullname"] == f"{contact['firstname']} {contact['lastname']}"
        assert contact["emailaddress1"] and contact["telephone1"]
    with_primary = [a for a in accounts.values() if a["_primarycontactid_value"]]
    assert with_primary
    for account in accounts.values():
        lat, lon = account["address1_latitude"], account["address1_longitude"]
        north_km = (lat + 33.9) * 111.32
        east_km = (lon - 151.2) * 111.32 * math.cos(math.radians(-33.9))
        assert math.hypot(north_km, east_km) <= 10.1
        assert account["address1_composite"] and account["telephone1"]


def test_every_standard_table_has_definitions(api: httpx.Client) -> None:
    listing = api.get("EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute")
    assert listing.status_code == 200
    names = {e["LogicalName"]: e for e in listing.json()["value"]}
    assert set(STANDARD) <= set(names)
    assert names["opportunity"]["EntitySetName"] == "opportunities"
    assert names["email"]["PrimaryIdAttribute"] == "activityid"
    assert all("MetadataId" in e and "SchemaName" not in e for e in names.values())
    one = api.get("EntityDefinitions(LogicalName='account')").json()
    assert one["SchemaName"] == "Account" and one["ChangeTrackingEnabled"] is True
    assert one["PrimaryNameAttribute"] == "name"
    assert api.get("EntityDefinitions(LogicalName='nothing')").status_code == 404


def test_attributes_carry_type_requirement_length_and_targets(api: httpx.Client) -> None:
    attributes = api.get("EntityDefinitions(LogicalName='contact')/Attributes").json()["value"]
    by_name = {a["LogicalName"]: a for a in attributes}
    lastname = by_name["lastname"]
    assert lastname["AttributeType"] == "String"
    assert lastname["AttributeTypeName"] == {"Value": "StringType"}
    assert lastname["RequiredLevel"]["Value"] == "ApplicationRequired"
    assert lastname["MaxLength"] == 50
    customer = by_name["parentcustomerid"]
    assert customer["AttributeType"] == "Customer" and customer["Targets"] == ["account", "contact"]
    assert by_name["fullname"]["IsValidForCreate"] is False
    assert by_name["address1_latitude"]["AttributeType"] == "Double"
    assert by_name["address1_latitude"]["Precision"] == 5
    assert by_name["birthdate"]["Format"] == "DateOnly"
    assert "OptionSet" not in by_name["gendercode"]


def test_picklist_cast_expands_option_sets(api: httpx.Client) -> None:
    response = api.get(
        "EntityDefinitions(LogicalName='account')/Attributes/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet"
    )
    assert response.status_code == 200
    industry = {a["LogicalName"]: a for a in response.json()["value"]}["industrycode"]
    options = {
        o["Value"]: o["Label"]["UserLocalizedLabel"]["Label"]
        for o in industry["OptionSet"]["Options"]
    }
    assert options[1] == "Accounting"
    assert all(
        a["@odata.type"].endswith("PicklistAttributeMetadata") for a in response.json()["value"]
    )


def test_navigation_property_names_for_bindings(api: httpx.Client) -> None:
    relationships = api.get(
        "EntityDefinitions(LogicalName='task')/ManyToOneRelationships"
        "?$select=ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName"
    ).json()["value"]
    names = {
        (r["ReferencingAttribute"], r["ReferencedEntity"]): r[
            "ReferencingEntityNavigationPropertyName"
        ]
        for r in relationships
    }
    assert names[("regardingobjectid", "account")] == "regardingobjectid_account_task"


def test_cli_prints_the_url_first_and_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tui_crm.cli.main import main; raise SystemExit(main())",
            "emulator",
            "dataverse",
            "--port",
            "0",
            "--records",
            "3",
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TUI_CRM_CONFIG": os.devnull},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        token = httpx.post(
            f"{url}/organizations/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": "c",
                "username": "demo@example.com",
                "password": "demo",
                "scope": f"{url}/.default",
            },
        ).json()["access_token"]
        count = httpx.get(
            f"{url}/api/data/v9.2/accounts/$count", headers={"Authorization": f"Bearer {token}"}
        )
        assert count.text == "3"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com"])
def test_cli_refuses_non_loopback_hosts(host: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tui_crm.cli.main import main; raise SystemExit(main())",
            "emulator",
            "dataverse",
            "--host",
            host,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "TUI_CRM_CONFIG": os.devnull},
    )
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr and "Traceback" not in result.stderr
