"""A Dataverse emulator on a free loopback port per test, and a signed-in httpx client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tui_crm.emulator.dataverse import DataverseEmulator

API = "/api/data/v9.2/"


def password_token(emulator: DataverseEmulator, client: httpx.Client, **extra: str) -> Any:
    response = client.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": "test-client",
            "username": "demo@example.com",
            "password": "demo",
            "scope": f"{emulator.url}/.default offline_access",
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def emulator() -> Iterator[DataverseEmulator]:
    server = DataverseEmulator(records=12, seed=3, device_code_interval=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def anonymous(emulator: DataverseEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10) as client:
        yield client


@pytest.fixture
def api(emulator: DataverseEmulator, anonymous: httpx.Client) -> Iterator[httpx.Client]:
    """Signed in as demo@example.com; requests go to the service root."""
    token = password_token(emulator, anonymous)["access_token"]
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "OData-Version": "4.0",
        "OData-MaxVersion": "4.0",
    }
    with httpx.Client(base_url=emulator.api_url, headers=headers, timeout=10) as client:
        yield client
