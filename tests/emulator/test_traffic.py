"""Service protection (429 + Retry-After) and every injected fault kind, seen by a real client."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tui_crm.emulator.dataverse import DataverseEmulator


def test_budget_exhausted_gives_429_with_retry_after(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    emulator.set_rate_limit(3, 120)
    assert [api.get("WhoAmI").status_code for _ in range(3)] == [200, 200, 200]
    throttled = api.get("WhoAmI")
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 120
    error = throttled.json()["error"]
    assert error["code"] == "0x80072322" and "over time window of 120 seconds" in error["message"]
    emulator.reset_budget()
    assert api.get("WhoAmI").status_code == 200


def test_queued_429_and_503_apply_nothing(emulator: DataverseEmulator, api: httpx.Client) -> None:
    emulator.queue_faults("429", "503")
    first = api.post("accounts", json={"name": "refused 1"})
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    second = api.post("accounts", json={"name": "refused 2"})
    assert second.status_code == 503 and second.json()["error"]["message"]
    assert not {"refused 1", "refused 2"} & {a["name"] for a in emulator.records("account")}
    assert emulator.faults_injected == {"429": 1, "503": 1}


def test_reset_connection(emulator: DataverseEmulator, api: httpx.Client) -> None:
    emulator.queue_faults("reset")
    with pytest.raises(httpx.TransportError):
        api.get("accounts")
    assert api.get("accounts").status_code == 200


def test_truncated_body_is_a_protocol_error_after_the_change_is_applied(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    emulator.queue_faults("truncate")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(
            "accounts?$select=name",
            json={"name": "applied anyway"},
            headers={"Prefer": "return=representation"},
        )
    assert "applied anyway" in {a["name"] for a in emulator.records("account")}


def test_truncated_gzip_page(emulator: DataverseEmulator, api: httpx.Client) -> None:
    emulator.queue_faults("truncate")
    with pytest.raises(httpx.TransportError):
        api.get("accounts", headers={"Accept-Encoding": "gzip"})


def test_stall_outlasts_the_client_timeout() -> None:
    with (
        DataverseEmulator(stall_seconds=3) as emulator,
        httpx.Client(base_url=emulator.url) as client,
    ):
        from tests.emulator.conftest import password_token

        token = password_token(emulator, client)["access_token"]
        emulator.queue_faults("stall")
        with pytest.raises(httpx.ReadTimeout):
            client.get(
                emulator.api_url + "WhoAmI",
                headers={"Authorization": f"Bearer {token}"},
                timeout=httpx.Timeout(5, read=0.3),
            )


def test_stall_applies_the_write_and_then_withholds_the_answer(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """The "applied, but the answer never came" case; a client that hung up is no error."""
    from tests.emulator.conftest import password_token

    caplog.set_level(logging.DEBUG)
    stall = 0.8
    with (
        DataverseEmulator(records=3, seed=1, stall_seconds=stall) as emulator,
        httpx.Client(base_url=emulator.url) as client,
    ):
        token = password_token(emulator, client)["access_token"]
        row = emulator.records("account")[0]["accountid"]
        emulator.queue_faults("stall")
        with pytest.raises(httpx.ReadTimeout):
            client.patch(
                emulator.api_url + f"accounts({row})",
                json={"name": "stalled write"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=httpx.Timeout(5, read=0.2),
            )
        assert emulator.get("account", row)["name"] == "stalled write"
        time.sleep(stall + 0.5)  # the handler finishes its stall and answers a closed socket
        assert emulator.faults_injected == {"stall": 1}
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in capfd.readouterr().err


def test_malformed_json_and_unexpected_status(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    emulator.queue_faults("malformed", "status")
    malformed = api.get("accounts")
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    odd = api.get("accounts")
    assert odd.status_code == 502 and odd.headers["Content-Type"].startswith("text/html")


def test_fault_rate_is_seeded_and_roughly_the_share_asked(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    emulator.set_fault_rate(0.5, ("429", "503"))
    statuses = [api.get("WhoAmI").status_code for _ in range(60)]
    failed = sum(status in (429, 503) for status in statuses)
    assert 10 <= failed <= 50
    assert set(statuses) <= {200, 429, 503}
    emulator.set_fault_rate(0.0)
    assert all(api.get("WhoAmI").status_code == 200 for _ in range(5))
    with pytest.raises(ValueError):
        emulator.set_fault_rate(1.5)
    with pytest.raises(ValueError):
        emulator.queue_faults("meteor")


def test_identity_endpoints_are_not_faulted(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    from tests.emulator.conftest import password_token

    emulator.set_fault_rate(1.0, ("503",))
    assert password_token(emulator, anonymous)["access_token"]


def test_default_stall_is_clearly_past_the_client_timeout() -> None:
    """With default settings a stall must be a client timeout, not a slow success."""
    import argparse

    from tui_crm.cli import emulator_cmd
    from tui_crm.connectors.http import DEFAULT_TIMEOUT_SECONDS
    from tui_crm.emulator.dataverse.emulator import DataverseConfig

    assert DataverseConfig().stall_seconds >= DEFAULT_TIMEOUT_SECONDS + 10
    parser = argparse.ArgumentParser()
    emulator_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["emulator", "dataverse"])
    assert args.stall_seconds is None  # run_dataverse then takes the emulator's default
