"""Paging with maxpagesize/nextLink, $top/$count, and change tracking with delta links."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tui_crm.emulator.dataverse import DataverseEmulator


def _pages(
    api: httpx.Client, url: str, prefer: str
) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """Follow nextLinks verbatim; returns all entries, the last page and the page count."""
    entries: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = api.get(url, headers={"Prefer": prefer})
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        entries += page["value"]
        if "@odata.nextLink" not in page:
            return entries, page, pages
        url = page["@odata.nextLink"]


def test_maxpagesize_pages_cover_every_row_once(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    first = api.get("contacts?$select=fullname", headers={"Prefer": "odata.maxpagesize=5"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=5"
    body = first.json()
    assert body["@odata.context"].endswith("$metadata#contacts(fullname)")
    assert len(body["value"]) == 5 and "$skiptoken=" in body["@odata.nextLink"]
    assert set(body["value"][0]) == {"@odata.etag", "fullname", "contactid"}
    entries, last, pages = _pages(api, "contacts?$select=fullname", "odata.maxpagesize=5")
    ids = [entry["contactid"] for entry in entries]
    assert pages == 3 and len(ids) == 12 == len(set(ids))
    assert set(ids) == {r["contactid"] for r in emulator.records("contact")}
    assert "@odata.deltaLink" not in last


def test_rows_created_while_paging_are_not_duplicated(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    first = api.get("accounts?$select=name", headers={"Prefer": "odata.maxpagesize=6"}).json()
    emulator.create("account", {"name": "late arrival"})
    rest, _, _ = _pages(api, first["@odata.nextLink"], "odata.maxpagesize=6")
    ids = [e["accountid"] for e in first["value"] + rest]
    assert len(ids) == len(set(ids))


def test_top_and_count(api: httpx.Client) -> None:
    top = api.get("accounts?$select=name&$top=3&$count=true").json()
    assert len(top["value"]) == 3 and "@odata.nextLink" not in top
    assert top["@odata.count"] == 12
    counted = api.get("accounts/$count")
    assert counted.status_code == 200 and counted.text == "12"
    # With maxpagesize, $top is ignored and the pages continue.
    paged = api.get("accounts?$top=3", headers={"Prefer": "odata.maxpagesize=5"}).json()
    assert len(paged["value"]) == 5 and "@odata.nextLink" in paged


def test_orderby_pages_in_order(emulator: DataverseEmulator, api: httpx.Client) -> None:
    entries, _, _ = _pages(api, "accounts?$select=name&$orderby=name desc", "odata.maxpagesize=4")
    names = [e["name"] for e in entries]
    assert names == sorted(
        (r["name"] for r in emulator.records("account")), key=str.lower, reverse=True
    )


def test_change_tracking_initial_then_deltas_with_deletes(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    prefer = "odata.track-changes,odata.maxpagesize=5"
    first = api.get("accounts?$select=name,telephone1", headers={"Prefer": prefer})
    assert "odata.track-changes" in first.headers["Preference-Applied"]
    entries, last, pages = _pages(api, "accounts?$select=name,telephone1", prefer)
    assert len(entries) == 12 and pages == 3
    delta_link = last["@odata.deltaLink"]
    assert "$deltatoken=" in delta_link and "$select=name,telephone1" in delta_link

    nothing = api.get(delta_link).json()
    assert nothing["value"] == [] and nothing["@odata.context"].endswith("/$delta")
    delta_link = nothing["@odata.deltaLink"]

    ids = sorted(r["accountid"] for r in emulator.records("account"))
    emulator.update("account", ids[0], {"telephone1": "999"})
    emulator.delete("account", ids[1])
    new_id = emulator.create("account", {"name": "New on server"})
    emulator.update("account", ids[0], {"telephone1": "998"})  # two edits: reported once
    changes = api.get(delta_link).json()
    upserts = {e["accountid"]: e for e in changes["value"] if "accountid" in e}
    deletes = [e for e in changes["value"] if e.get("reason") == "deleted"]
    assert set(upserts) == {ids[0], new_id}
    assert upserts[ids[0]]["telephone1"] == "998"
    assert deletes == [
        {
            "@odata.context": f"{emulator.api_url}$metadata#accounts/$deletedEntity",
            "id": ids[1],
            "reason": "deleted",
        }
    ]
    assert api.get(changes["@odata.deltaLink"]).json()["value"] == []
    # $count on a delta token counts the changes since it.
    token = delta_link.split("$deltatoken=")[1]
    assert api.get(f"accounts/$count?$deltatoken={token}").text == "3"


def test_changes_during_the_initial_tracked_read_reach_the_next_delta(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    prefer = "odata.track-changes,odata.maxpagesize=5"
    first = api.get("contacts?$select=lastname", headers={"Prefer": prefer}).json()
    seen = [e["contactid"] for e in first["value"]]
    emulator.update("contact", seen[0], {"lastname": "Edited mid-read"})
    _, last, _ = _pages(api, first["@odata.nextLink"], prefer)
    delta = api.get(last["@odata.deltaLink"]).json()
    assert [e["lastname"] for e in delta["value"]] == ["Edited mid-read"]


def test_large_deltas_are_paged(emulator: DataverseEmulator, api: httpx.Client) -> None:
    _, last, _ = _pages(api, "tasks?$select=subject", "odata.track-changes")
    for number in range(7):
        emulator.create("task", {"subject": f"t{number}"})
    entries, final, pages = _pages(api, last["@odata.deltaLink"], "odata.maxpagesize=3")
    assert pages == 3 and [e["subject"] for e in entries] == [f"t{n}" for n in range(7)]
    assert "@odata.deltaLink" in final


@pytest.mark.parametrize("option", ["$filter=name eq 'x'", "$orderby=name", "$top=2", "$expand=x"])
def test_query_options_refused_with_change_tracking(api: httpx.Client, option: str) -> None:
    response = api.get(f"accounts?{option}", headers={"Prefer": "odata.track-changes"})
    assert response.status_code == 400
    name = option.split("=")[0]
    assert (
        f'"{name}" query parameter isn\'t supported when Change Tracking is enabled'
        in (response.json()["error"]["message"])
    )


def test_expired_and_forged_delta_tokens_are_refused(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    _, last, _ = _pages(api, "accounts?$select=name", "odata.track-changes")
    emulator.expire_delta_tokens()
    expired = api.get(last["@odata.deltaLink"])
    assert expired.status_code == 400 and "expired" in expired.json()["error"]["message"]
    assert api.get("accounts?$select=name&$deltatoken=99999999999!01/01/2030").status_code == 400
    _, fresh, _ = _pages(api, "accounts?$select=name", "odata.track-changes")
    assert api.get(fresh["@odata.deltaLink"]).status_code == 200


def test_forged_skiptoken_is_refused(api: httpx.Client) -> None:
    assert api.get("accounts?$skiptoken=<nonsense/>").status_code == 400


def test_gzip_when_asked(api: httpx.Client) -> None:
    response = api.get("accounts", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.json()["value"]) == 12
    plain = api.get("accounts", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
