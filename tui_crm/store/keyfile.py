"""The key file: the application key wrapped under a password-derived key.

Layout (UTF-8 JSON, one object): a header (format, KDF name and parameters,
salt, profile id, and the database's page size when it is not SQLCipher's
4 KiB default), the AES-GCM nonce and ciphertext, and a SHA-256 checksum of
everything else. The header is the GCM associated data, so raising or lowering
the KDF cost in the file breaks authentication. The checksum is not a security
control (anyone can recompute it); it lets us tell a damaged file apart from a
wrong password, which both look like a GCM tag failure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from tui_crm.domain.errors import ProfileDamaged, WrongPassword
from tui_crm.store.atomic import write_atomic

FORMAT_VERSION = 1
KDF_NAME = "argon2id"
KEY_BYTES = 32
SALT_BYTES = 16
NONCE_BYTES = 12
MAX_KEY_FILE_BYTES = 64 * 1024
# Bounds on parameters read from disk, so a damaged file cannot make us allocate gigabytes.
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 64
LEGACY_PAGE_SIZE = 4096
"""SQLCipher's default; profiles made before the key file named a page size use it."""
NEW_PROFILE_PAGE_SIZE = 16384
"""New databases: a pull writes each page once to the log and once to the file, and
16 KiB pages cut a 100k-record pull's database time by a fifth (fewer page
headers, MACs and writes) and the file by an eighth."""
PAGE_SIZES = frozenset({4096, 8192, 16384, 32768, 65536})


@dataclass(frozen=True, slots=True)
class KdfParams:
    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def __post_init__(self) -> None:
        if not 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB:
            raise ValueError("Argon2id memory out of range")
        if not 1 <= self.iterations <= MAX_ITERATIONS or not 1 <= self.lanes <= MAX_LANES:
            raise ValueError("Argon2id iterations or lanes out of range")


@dataclass(frozen=True, slots=True)
class KeyFile:
    kdf: KdfParams
    salt: bytes
    profile_id: str
    nonce: bytes
    wrapped: bytes
    format_version: int = FORMAT_VERSION
    page_size: int | None = None
    """The database's page size; None in key files made before it was recorded (4 KiB).
    It must be known before the first page can be read, so it cannot live inside
    the database; in the header it is authenticated with the rest."""

    @property
    def database_page_size(self) -> int:
        return self.page_size or LEGACY_PAGE_SIZE

    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = {
            "format": self.format_version,
            "kdf": {
                "name": KDF_NAME,
                "memory_kib": self.kdf.memory_kib,
                "iterations": self.kdf.iterations,
                "lanes": self.kdf.lanes,
            },
            "salt": _b64(self.salt),
            "profile_id": self.profile_id,
        }
        if self.page_size is not None:
            header["db_page_size"] = self.page_size
        return header

    def associated_data(self) -> bytes:
        return _canonical(self.header())


def derive_kek(password: str, salt: bytes, params: KdfParams) -> bytearray:
    kdf = Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return bytearray(kdf.derive(password.encode("utf-8")))


def wrap(
    app_key: bytearray,
    password: str,
    params: KdfParams,
    profile_id: str,
    page_size: int | None = NEW_PROFILE_PAGE_SIZE,
) -> KeyFile:
    """A fresh salt and nonce every time: the same password never yields the same file.

    `page_size` is the database's (re-wrapping keeps the old file's, None included).
    """
    if page_size is not None and page_size not in PAGE_SIZES:
        raise ValueError(f"unsupported database page size {page_size}")
    salt = os.urandom(SALT_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    draft = KeyFile(params, salt, profile_id, nonce, b"", page_size=page_size)
    kek = derive_kek(password, salt, params)
    try:
        wrapped = AESGCM(bytes(kek)).encrypt(nonce, bytes(app_key), draft.associated_data())
    finally:
        wipe(kek)
    return KeyFile(params, salt, profile_id, nonce, wrapped, page_size=page_size)


def unwrap(key_file: KeyFile, password: str) -> bytearray:
    kek = derive_kek(password, key_file.salt, key_file.kdf)
    try:
        plain = AESGCM(bytes(kek)).decrypt(
            key_file.nonce, key_file.wrapped, key_file.associated_data()
        )
    except InvalidTag:
        raise WrongPassword() from None
    finally:
        wipe(kek)
    if len(plain) != KEY_BYTES:
        raise ProfileDamaged("key file holds a key of the wrong size")
    return bytearray(plain)


def wipe(buffer: bytearray) -> None:
    """Overwrite key bytes we own; copies made by libraries are beyond our reach."""
    for index in range(len(buffer)):
        buffer[index] = 0


def encode(key_file: KeyFile) -> bytes:
    body = {**key_file.header(), "nonce": _b64(key_file.nonce), "wrapped": _b64(key_file.wrapped)}
    body["checksum"] = hashlib.sha256(_canonical(body)).hexdigest()
    return _canonical(body) + b"\n"


def decode(data: bytes) -> KeyFile:
    """Parse and check a key file; anything unexpected is damage, never a crash."""
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ProfileDamaged("key file is too large")
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProfileDamaged("key file is not readable") from None
    if not isinstance(body, dict):
        raise ProfileDamaged("key file is not readable")
    checksum = body.pop("checksum", None)
    if checksum != hashlib.sha256(_canonical(body)).hexdigest():
        raise ProfileDamaged("key file checksum mismatch")
    try:
        kdf = body["kdf"]
        if body["format"] != FORMAT_VERSION:
            raise ProfileDamaged(f"key file format {body['format']} is not supported")
        if kdf["name"] != KDF_NAME:
            raise ProfileDamaged("key file names an unknown KDF")
        params = KdfParams(
            memory_kib=_int(kdf["memory_kib"]),
            iterations=_int(kdf["iterations"]),
            lanes=_int(kdf["lanes"]),
        )
        page_size = body.get("db_page_size")
        if page_size is not None and (_int(page_size) not in PAGE_SIZES):
            raise ValueError("page size")
        key_file = KeyFile(
            kdf=params,
            salt=_unb64(body["salt"]),
            profile_id=str(body["profile_id"]),
            nonce=_unb64(body["nonce"]),
            wrapped=_unb64(body["wrapped"]),
            page_size=page_size,
        )
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ProfileDamaged("key file fields are invalid") from None
    if len(key_file.salt) != SALT_BYTES or len(key_file.nonce) != NONCE_BYTES:
        raise ProfileDamaged("key file fields are invalid")
    if encode(key_file) != data:
        # Canonical form only: even a flipped whitespace byte is reported, not ignored.
        raise ProfileDamaged("key file checksum mismatch")
    return key_file


def read_key_file(path: Path) -> KeyFile:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProfileDamaged("key file is missing") from None
    except OSError as exc:
        raise ProfileDamaged(f"key file cannot be read ({exc.strerror})") from None
    return decode(data)


def write_key_file(path: Path, key_file: KeyFile) -> None:
    write_atomic(path, encode(key_file), mode=0o600)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(text, validate=True)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value
