"""The key file format: round trip, authenticated header, and parsing that never crashes."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_crm.domain.errors import ProfileDamaged, WrongPassword
from tui_crm.store import keyfile
from tui_crm.store.keyfile import KdfParams

CHEAP = KdfParams(memory_kib=19456, iterations=1, lanes=1)
PROFILE = "0b7f0b52-3a0c-4a0e-9a55-5c3f3f1f7c11"


def make() -> tuple[bytearray, bytes]:
    app_key = bytearray(os.urandom(32))
    return app_key, keyfile.encode(keyfile.wrap(app_key, "pw", CHEAP, PROFILE))


def test_round_trip_and_fresh_salt_each_wrap() -> None:
    app_key, data = make()
    parsed = keyfile.decode(data)
    assert parsed.profile_id == PROFILE
    assert keyfile.unwrap(parsed, "pw") == app_key
    again = keyfile.wrap(app_key, "pw", CHEAP, PROFILE)
    assert again.salt != parsed.salt and again.wrapped != parsed.wrapped
    with pytest.raises(WrongPassword):
        keyfile.unwrap(parsed, "Pw")


def _resign(body: dict[str, object]) -> bytes:
    """Rewrite a field and recompute the checksum, as a deliberate attacker would."""
    body.pop("checksum", None)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    body["checksum"] = hashlib.sha256(canonical).hexdigest()
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def test_lowered_kdf_cost_with_valid_checksum_fails_authentication() -> None:
    _, data = make()
    body = json.loads(data)
    body["kdf"]["memory_kib"] = 19457
    with pytest.raises(WrongPassword):
        keyfile.unwrap(keyfile.decode(_resign(body)), "pw")


def test_the_page_size_is_in_the_header_and_authenticated() -> None:
    _, data = make()
    body = json.loads(data)
    assert body["db_page_size"] == keyfile.NEW_PROFILE_PAGE_SIZE
    assert keyfile.decode(data).database_page_size == keyfile.NEW_PROFILE_PAGE_SIZE
    body["db_page_size"] = 4096
    with pytest.raises(WrongPassword):
        keyfile.unwrap(keyfile.decode(_resign(body)), "pw")
    del body["db_page_size"]
    with pytest.raises(WrongPassword):
        keyfile.unwrap(keyfile.decode(_resign(body)), "pw")


def test_a_key_file_from_before_page_sizes_means_4_kib_and_keeps_its_shape() -> None:
    app_key = bytearray(os.urandom(32))
    legacy = keyfile.wrap(app_key, "pw", CHEAP, PROFILE, page_size=None)
    data = keyfile.encode(legacy)
    assert "db_page_size" not in json.loads(data)
    parsed = keyfile.decode(data)
    assert parsed.page_size is None and parsed.database_page_size == 4096
    assert keyfile.unwrap(parsed, "pw") == app_key


def test_swapped_profile_id_fails_authentication() -> None:
    _, data = make()
    body = json.loads(data)
    body["profile_id"] = "another"
    with pytest.raises(WrongPassword):
        keyfile.unwrap(keyfile.decode(_resign(body)), "pw")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "format 2"),
        ({"kdf": {"name": "scrypt", "memory_kib": 19456, "iterations": 1, "lanes": 1}}, "KDF"),
        (
            {"kdf": {"name": "argon2id", "memory_kib": 2**40, "iterations": 1, "lanes": 1}},
            "invalid",
        ),
        ({"salt": "!!"}, "invalid"),
        ({"nonce": "AAAA"}, "invalid"),
        ({"wrapped": 5}, "invalid"),
        ({"db_page_size": 5000}, "invalid"),
        ({"db_page_size": "16384"}, "invalid"),
        ({"db_page_size": True}, "invalid"),
        ({"db_page_size": None}, "checksum"),
    ],
)
def test_structurally_bad_fields_are_damage(change: dict[str, object], message: str) -> None:
    _, data = make()
    body = json.loads(data)
    body.update(change)
    with pytest.raises(ProfileDamaged, match=message):
        keyfile.decode(_resign(body))


def test_whitespace_change_is_damage() -> None:
    _, data = make()
    with pytest.raises(ProfileDamaged, match="checksum"):
        keyfile.decode(data[:-1] + b" ")


def test_oversized_file_is_refused() -> None:
    with pytest.raises(ProfileDamaged, match="too large"):
        keyfile.decode(b" " * (keyfile.MAX_KEY_FILE_BYTES + 1))


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_are_rejected_cleanly(data: bytes) -> None:
    with pytest.raises(ProfileDamaged):
        keyfile.decode(data)


_, SAMPLE = make()


@settings(max_examples=300)
@given(st.integers(0, len(SAMPLE) - 1), st.integers(1, 255))
def test_any_flipped_byte_is_damage(offset: int, mask: int) -> None:
    data = bytearray(SAMPLE)
    data[offset] ^= mask
    with pytest.raises(ProfileDamaged):
        keyfile.decode(bytes(data))


def test_wipe_zeroes_the_buffer() -> None:
    buffer = bytearray(b"\xff" * 32)
    keyfile.wipe(buffer)
    assert buffer == bytearray(32)
