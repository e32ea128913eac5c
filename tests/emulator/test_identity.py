"""Sign-in endpoints: device code, password, client credentials, refresh, and the 401 challenge."""

from __future__ import annotations

import re

import httpx

from tests.emulator.conftest import API, password_token
from tui_crm.emulator.dataverse import DataverseEmulator

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _device_code(emulator: DataverseEmulator, client: httpx.Client) -> dict[str, object]:
    response = client.post(
        "/organizations/oauth2/v2.0/devicecode",
        data={"client_id": "cli", "scope": f"{emulator.url}/user_impersonation offline_access"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _poll(client: httpx.Client, device_code: object) -> httpx.Response:
    return client.post(
        "/organizations/oauth2/v2.0/token",
        data={"grant_type": DEVICE_GRANT, "client_id": "cli", "device_code": str(device_code)},
    )


def test_device_code_pending_then_approved_gives_tokens(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    grant = _device_code(emulator, anonymous)
    assert re.fullmatch(r"[A-Z0-9]{9}", str(grant["user_code"]))
    assert grant["verification_uri"] == f"{emulator.url}/devicelogin"
    assert grant["expires_in"] == 900 and "verification_uri_complete" not in grant
    pending = _poll(anonymous, grant["device_code"])
    assert pending.status_code == 400
    body = pending.json()
    assert body["error"] == "authorization_pending" and body["error_codes"] == [70016]
    assert body["error_description"].startswith("AADSTS70016")
    assert emulator.pending_user_codes() == [grant["user_code"]]
    assert emulator.approve_device_code(str(grant["user_code"])) == 1
    done = _poll(anonymous, grant["device_code"])
    assert done.status_code == 200
    tokens = done.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3599
    assert tokens["access_token"].startswith("eyJ") and tokens["refresh_token"]
    # A device code is redeemed once.
    assert _poll(anonymous, grant["device_code"]).json()["error"] == "bad_verification_code"


def test_device_login_page_approves_with_the_users_password(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    grant = _device_code(emulator, anonymous)
    page = anonymous.get("/devicelogin")
    assert page.status_code == 200 and "user_code" in page.text
    wrong = anonymous.post(
        "/devicelogin",
        data={"user_code": grant["user_code"], "username": "demo@example.com", "password": "x"},
    )
    assert wrong.status_code == 401
    assert _poll(anonymous, grant["device_code"]).json()["error"] == "authorization_pending"
    right = anonymous.post(
        "/devicelogin",
        data={"user_code": grant["user_code"], "username": "demo@example.com", "password": "demo"},
    )
    assert right.status_code == 200
    assert _poll(anonymous, grant["device_code"]).status_code == 200


def test_polling_faster_than_the_interval_gets_slow_down() -> None:
    with (
        DataverseEmulator(device_code_interval=5) as emulator,
        httpx.Client(base_url=emulator.url) as client,
    ):
        grant = _device_code(emulator, client)
        assert grant["interval"] == 5
        assert _poll(client, grant["device_code"]).json()["error"] == "authorization_pending"
        assert _poll(client, grant["device_code"]).json()["error"] == "slow_down"


def test_expired_and_declined_device_codes(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    first = _device_code(emulator, anonymous)
    emulator.expire_device_codes()
    expired = _poll(anonymous, first["device_code"]).json()
    assert expired["error"] == "expired_token" and expired["error_codes"] == [70019]
    second = _device_code(emulator, anonymous)
    denied = anonymous.post(
        "/devicelogin", data={"user_code": second["user_code"], "action": "deny"}
    )
    assert denied.status_code == 200
    assert _poll(anonymous, second["device_code"]).json()["error"] == "authorization_declined"
    assert _poll(anonymous, "not-a-code").json()["error"] == "bad_verification_code"


def test_auto_approve_issues_tokens_on_first_poll() -> None:
    with (
        DataverseEmulator(auto_approve=True, device_code_interval=0) as emulator,
        httpx.Client(base_url=emulator.url) as client,
    ):
        grant = _device_code(emulator, client)
        assert _poll(client, grant["device_code"]).status_code == 200


def test_password_grant_refuses_wrong_password_and_foreign_resource(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    base = {"grant_type": "password", "client_id": "c", "username": "demo@example.com"}
    wrong = anonymous.post(
        "/common/oauth2/v2.0/token",
        data={**base, "password": "nope", "scope": f"{emulator.url}/.default"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant" and wrong.json()["error_codes"] == [50126]
    foreign = anonymous.post(
        "/common/oauth2/v2.0/token",
        data={**base, "password": "demo", "scope": "https://other.crm.dynamics.com/.default"},
    )
    assert foreign.json()["error"] == "invalid_resource"
    no_client = anonymous.post("/common/oauth2/v2.0/token", data={"grant_type": "password"})
    assert no_client.status_code == 400 and no_client.json()["error"] == "invalid_request"
    odd = anonymous.post(
        "/common/oauth2/v2.0/token", data={"grant_type": "magic", "client_id": "c"}
    )
    assert odd.json()["error"] == "unsupported_grant_type"


def test_refresh_token_is_only_issued_with_offline_access(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    tokens = anonymous.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": "c",
            "username": "demo@example.com",
            "password": "demo",
            "scope": f"{emulator.url}/.default",
        },
    ).json()
    assert "access_token" in tokens and "refresh_token" not in tokens


def test_refresh_rotates_and_revocation_is_invalid_grant(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    first = password_token(emulator, anonymous)
    refreshed = anonymous.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "test-client",
            "refresh_token": first["refresh_token"],
        },
    )
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    other_client = anonymous.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "someone-else",
            "refresh_token": second["refresh_token"],
        },
    )
    assert other_client.json()["error"] == "invalid_grant"
    emulator.revoke_refresh_tokens()
    revoked = anonymous.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "test-client",
            "refresh_token": second["refresh_token"],
        },
    )
    assert revoked.status_code == 400
    assert revoked.json()["error"] == "invalid_grant" and revoked.json()["error_codes"] == [50173]


def test_client_credentials_needs_the_secret_and_acts_as_the_application_user(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    data = {"grant_type": "client_credentials", "client_id": "app", "scope": emulator.scope}
    bad = anonymous.post("/tenant.example/oauth2/v2.0/token", data={**data, "client_secret": "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    delegated = anonymous.post(
        "/tenant.example/oauth2/v2.0/token",
        data={
            **data,
            "client_secret": "demo-secret",
            "scope": f"{emulator.url}/user_impersonation",
        },
    )
    assert delegated.json()["error"] == "invalid_scope"
    good = anonymous.post(
        "/tenant.example/oauth2/v2.0/token", data={**data, "client_secret": "demo-secret"}
    )
    assert good.status_code == 200 and "refresh_token" not in good.json()
    who = anonymous.get(
        API + "WhoAmI", headers={"Authorization": f"Bearer {good.json()['access_token']}"}
    )
    assert who.json()["UserId"] == emulator.application_user.id


def test_missing_token_gets_401_with_the_authority_in_the_challenge(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    response = anonymous.get(API + "accounts")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    match = re.search(r"authorization_uri=([^,\s]+)", challenge)
    assert match is not None
    assert match.group(1) == f"{emulator.authority}/oauth2/authorize"
    assert f"resource_id={emulator.url}/" in challenge
    garbage = anonymous.get(API + "accounts", headers={"Authorization": "Bearer nonsense"})
    assert garbage.status_code == 401 and "invalid_token" in garbage.headers["WWW-Authenticate"]


def test_expired_token_gets_401_and_a_refreshed_one_works(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    tokens = password_token(emulator, anonymous)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert anonymous.get(API + "WhoAmI", headers=headers).status_code == 200
    emulator.expire_access_tokens()
    expired = anonymous.get(API + "WhoAmI", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.headers["WWW-Authenticate"]
    renewed = anonymous.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "test-client",
            "refresh_token": tokens["refresh_token"],
        },
    ).json()
    again = anonymous.get(
        API + "WhoAmI", headers={"Authorization": f"Bearer {renewed['access_token']}"}
    )
    assert again.status_code == 200 and again.json()["UserId"] == emulator.user.id


def test_openid_configuration_names_the_endpoints(
    emulator: DataverseEmulator, anonymous: httpx.Client
) -> None:
    document = anonymous.get("/organizations/v2.0/.well-known/openid-configuration").json()
    assert document["token_endpoint"] == f"{emulator.url}/organizations/oauth2/v2.0/token"
    assert document["device_authorization_endpoint"].endswith(
        "/organizations/oauth2/v2.0/devicecode"
    )
