"""Multipart $batch: change sets are atomic, Content-ID references, continue-on-error."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from tui_crm.emulator.dataverse import DataverseEmulator


def _part(
    method: str, url: str, body: dict[str, object] | None, content_id: int | None = None
) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines += [""]
    return "\r\n".join(lines) + "\r\n"


def _change_set(boundary: str, parts: list[str]) -> str:
    inner = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


def _batch(api: httpx.Client, items: list[str], prefer: str | None = None) -> httpx.Response:
    boundary = f"batch_{uuid.uuid4()}"
    body = "".join(f"--{boundary}\r\n{item}" for item in items) + f"--{boundary}--\r\n"
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    if prefer:
        headers["Prefer"] = prefer
    return api.post("$batch", content=body.encode(), headers=headers)


def _statuses(response: httpx.Response) -> list[int]:
    return [int(code) for code in re.findall(r"HTTP/1\.1 (\d{3})", response.text)]


def test_change_set_commits_all_and_resolves_content_id(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    root = emulator.api_url
    change_set = _change_set(
        "changeset_a",
        [
            _part("POST", f"{root}accounts", {"name": "Batch Co"}, 1),
            _part(
                "POST",
                "/api/data/v9.2/contacts",
                {"lastname": "Batch", "parentcustomerid_account@odata.bind": "$1"},
                2,
            ),
        ],
    )
    response = _batch(api, [change_set, _part("GET", "accounts?$select=name&$top=1", None)])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert "changesetresponse_" in response.text
    assert _statuses(response) == [204, 204, 200]
    account_url = re.findall(r"OData-EntityId: (\S+)", response.text)[0]
    account_id = account_url[account_url.index("(") + 1 : -1]
    bound = [c for c in emulator.records("contact") if c["lastname"] == "Batch"]
    assert len(bound) == 1 and bound[0]["_parentcustomerid_value"] == account_id


def test_failing_change_set_is_rolled_back_and_stops_the_batch(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    existing = emulator.records("account")[0]["accountid"]
    before = emulator.get("account", existing)
    change_set = _change_set(
        "changeset_b",
        [
            _part("POST", "accounts", {"name": "Will vanish"}, 1),
            _part("PATCH", f"accounts({existing})", {"name": "also undone"}, 2),
            _part("DELETE", f"accounts({existing})", None, 3),
            _part("POST", "accounts", {"name": "x" * 500}, 4),
        ],
    )
    after_part = _part("POST", "accounts", {"name": "never reached"})
    response = _batch(api, [change_set, after_part])
    assert response.status_code == 200
    assert _statuses(response) == [400]
    assert '"code": "0x80044331"' in response.text
    names = {a["name"] for a in emulator.records("account")}
    assert "Will vanish" not in names and "never reached" not in names
    assert emulator.get("account", existing) == before


def test_continue_on_error_runs_the_rest(emulator: DataverseEmulator, api: httpx.Client) -> None:
    response = _batch(
        api,
        [_part("POST", "accounts", {"name": "y" * 500}), _part("POST", "accounts", {"name": "ok"})],
        prefer="odata.continue-on-error",
    )
    assert _statuses(response) == [400, 204]
    assert "ok" in {a["name"] for a in emulator.records("account")}


def test_get_inside_a_change_set_and_bad_content_type_are_refused(api: httpx.Client) -> None:
    response = _batch(api, [_change_set("changeset_c", [_part("GET", "accounts", None, 1)])])
    assert _statuses(response) == [400]
    plain = api.post("$batch", content=b"{}", headers={"Content-Type": "application/json"})
    assert plain.status_code == 400


def test_a_batch_counts_once_against_the_budget(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    emulator.set_rate_limit(2, 60)
    parts = [_part("POST", "accounts", {"name": f"n{i}"}) for i in range(5)]
    assert _batch(api, parts).status_code == 200
    assert api.get("WhoAmI").status_code == 200
    assert api.get("WhoAmI").status_code == 429
