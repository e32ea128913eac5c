"""Plaintext canary: a marker written through the services appears in no file, ever.

Every byte of every file under the test's folder (database, -wal, -shm, key
file, lockout file, anything else) is searched in UTF-8 and UTF-16, while the
profile is open (WAL full of fresh pages) and after it is closed.
"""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

from store_support import CHEAP_KDF

from tui_crm.services import ProfileService, Session


def _encodings(marker: str) -> list[bytes]:
    return [marker.encode("utf-8"), marker.encode("utf-16-le"), marker.encode("utf-16-be")]


def _hits(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.name}: {needle!r}" for needle in needles if needle in data]
    return found


async def _write_markers(session: Session, marker: str, password: str) -> None:
    rows = [
        {
            "name": f"{marker} account {i}",
            "description": f"notes {marker} " * 20,
            "emailaddress1": f"{marker}@example.com",
            "address1_city": marker,
        }
        for i in range(1500)
    ]
    report = await session.records.import_rows("account", rows)
    assert report.ok
    contact = await session.records.create("contact", {"lastname": marker})
    await session.records.update("contact", contact.id, {"jobtitle": marker})
    await session.settings.set_save_password(True)
    await session.settings.set_credentials({"user": marker, "password": password})
    await session.settings.set("note", marker)
    # Sorting and searching on non-indexed fields exercise temp storage too.
    await session.records.list("account", order="address1_city", limit=500)
    await session.records.search("account", marker[:6])


async def test_no_plaintext_in_any_file_while_open_and_after_close(tmp_path: Path) -> None:
    marker = f"CANARY{uuid.uuid4().hex}"
    password = f"pw-{uuid.uuid4().hex}"
    profiles = ProfileService(tmp_path / "profile", kdf=CHEAP_KDF)
    session = await profiles.create(password)
    await _write_markers(session, marker, password)
    needles = _encodings(marker) + _encodings(password)
    names = {p.name for p in (tmp_path / "profile").iterdir()}
    assert "profile.db-wal" in names
    for path in (tmp_path / "profile").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert _hits(tmp_path, needles) == []
    await session.close()
    assert _hits(tmp_path, needles) == []
    session = await profiles.unlock(password)
    assert (await session.records.search("account", marker)).records
    await session.close()
    assert _hits(tmp_path, needles) == []


async def test_the_canary_search_would_find_plaintext(tmp_path: Path) -> None:
    """The grep itself works: a plaintext file with the marker is found."""
    marker = f"CANARY{uuid.uuid4().hex}"
    (tmp_path / "leak.txt").write_text(f"oops {marker}", encoding="utf-16-le")
    assert _hits(tmp_path, _encodings(marker)) != []
