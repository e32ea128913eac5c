"""Keyset paging equals a brute-force sort; search is prefix full-text and pages the same way."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tui_crm.domain import PageCursor, Record, ValidationFailed
from tui_crm.services import Session

CITIES = ["Berlin", "berlin", "Zürich", "Åre", "Oslo", None]
NAMES = ["Acme", "acme", "Beta", "Ångström", "zeta", "Zeta", "Émile", "", "delta"]
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(text: str) -> str:
    """SQLite NOCASE folds ASCII letters only."""
    return text.translate(_ASCII_FOLD)


def _rows(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for index in range(count):
        row: dict[str, Any] = {"name": f"{rng.choice(NAMES)} {rng.randint(0, 5)}".strip()}
        city = rng.choice(CITIES)
        if city is not None:
            row["address1_city"] = city
        if rng.random() < 0.7:
            row["revenue"] = float(rng.choice([0, 1.5, 10, 10, 250.25, -3]))
        if rng.random() < 0.5:
            row["numberofemployees"] = rng.randint(0, 4)
        row["description"] = f"row {index}"
        rows.append(row)
    return rows


@pytest.fixture
async def filled(session: Session) -> Session:
    report = await session.records.import_rows("account", _rows(seed=7, count=240))
    assert report.ok and report.created == 240
    return session


def _sql_key(record: Record, order: str | None) -> tuple[int, Any]:
    """(type rank, value) as SQLite orders values: NULL < numbers < text."""
    if order in (None, "name"):
        return (2, _fold(record.name))
    value = record.fields.get(order)
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (2, _fold(value))
    return (1, value)


async def _walk(session: Session, limit: int, **kwargs: Any) -> list[str]:
    seen: list[str] = []
    after: PageCursor | None = None
    for _ in range(1000):
        page = await session.records.list("account", after=after, limit=limit, **kwargs)
        assert len(page.records) <= limit
        seen.extend(r.id for r in page.records)
        if page.next_cursor is None:
            return seen
        assert len(page.records) == limit
        after = page.next_cursor
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("order", [None, "name", "address1_city", "revenue", "numberofemployees"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 7, 50])
async def test_keyset_pages_match_brute_force_sort(
    filled: Session, order: str | None, descending: bool, limit: int
) -> None:
    records = (await filled.records.list("account", limit=1000)).records
    assert len(records) == 240
    expected = sorted(records, key=lambda r: (_sql_key(r, order), r.id), reverse=descending)
    walked = await _walk(filled, limit, order=order, descending=descending)
    assert walked == [r.id for r in expected]


async def test_paging_holds_under_inserts_between_pages(filled: Session) -> None:
    first = await filled.records.list("account", limit=10)
    assert first.next_cursor is not None
    await filled.records.create("account", {"name": "!!! sorts first"})
    second = await filled.records.list("account", after=first.next_cursor, limit=10)
    assert not {r.id for r in first.records} & {r.id for r in second.records}


async def test_unknown_sort_field_is_a_clear_error(filled: Session) -> None:
    with pytest.raises(ValidationFailed, match="order"):
        await filled.records.list("account", order="shoe_size")
    with pytest.raises(ValidationFailed, match="order"):
        await filled.records.list("account", order="name; DROP TABLE records")


async def test_default_order_uses_the_name_index_without_sorting(filled: Session) -> None:
    def plan(conn: Any) -> list[str]:
        rows = conn.execute(
            "EXPLAIN QUERY PLAN SELECT r.id FROM records r WHERE r.entity = ? "
            "AND r.state != 'deleted' AND (r.name, r.id) > (?, ?) ORDER BY r.name, r.id LIMIT 51",
            ("account", "m", ""),
        ).fetchall()
        return [str(row[-1]) for row in rows]

    details = " | ".join(await filled.run(plan))
    assert "records_by_name" in details
    assert "TEMP B-TREE" not in details


async def test_search_is_prefix_full_text_across_text_fields(session: Session) -> None:
    records = session.records
    smith = await records.create(
        "contact",
        {"firstname": "John", "lastname": "Smith", "emailaddress1": "john@contoso.com"},
    )
    await records.create("contact", {"firstname": "Jane", "lastname": "Doe", "jobtitle": "CTO"})
    acme = await records.create("account", {"name": "Société Générale", "address1_city": "Paris"})

    async def ids(entity: str, text: str) -> list[str]:
        return [r.id for r in (await records.search(entity, text)).records]

    assert await ids("contact", "jo sm") == [smith.id]
    assert await ids("contact", "contoso") == [smith.id]
    assert await ids("contact", "smi") == [smith.id]
    assert await ids("contact", "cto") != []
    assert await ids("account", "societe") == [acme.id]
    assert await ids("account", "par") == [acme.id]
    assert await ids("account", "smith") == []
    await records.update("contact", smith.id, {"lastname": "Jones"})
    assert await ids("contact", "smith") == []
    assert await ids("contact", "jones") == [smith.id]
    await records.delete("contact", smith.id)
    assert await ids("contact", "jones") == []


@pytest.mark.parametrize(
    "text", ['"', "*", "AND", "NEAR(", "a OR", "-", "^x", "col:val", "'; DROP", "   ", "(("]
)
async def test_hostile_search_text_never_errors(filled: Session, text: str) -> None:
    page = await filled.records.search("account", text)
    assert isinstance(page.records, list)


async def test_search_results_page_by_keyset(filled: Session) -> None:
    records = (await filled.records.list("account", search="acme", limit=1000)).records
    everything = [r.id for r in records]
    assert everything
    assert all("acme" in r.name.lower() for r in records)
    assert await _walk(filled, 3, search="acme") == everything


async def test_export_yields_every_record_once(filled: Session) -> None:
    exported = [record.id async for record in filled.records.export("account")]
    assert len(exported) == len(set(exported)) == 240


async def test_search_without_order_is_newest_first(session: Session) -> None:
    created = [await session.records.create("account", {"name": f"Zed {i}"}) for i in range(5)]
    page = await session.records.search("account", "zed")
    assert [r.id for r in page.records] == [r.id for r in reversed(created)]


async def test_search_with_an_order_sorts_every_match(filled: Session) -> None:
    page = await filled.records.list("account", search="acme", order="name", limit=1000)
    expected = sorted(page.records, key=lambda r: (_fold(r.name), r.id))
    assert [r.id for r in page.records] == [r.id for r in expected]
    assert await _walk(filled, 4, search="acme", order="name") == [r.id for r in expected]


async def test_a_foreign_cursor_is_refused_by_search(filled: Session) -> None:
    with pytest.raises(ValidationFailed, match="cursor"):
        await filled.records.search("account", "acme", after=PageCursor("Acme", "x"))


async def test_long_words_match_whole_word_prefixes_only(session: Session) -> None:
    pacific = await session.records.create("account", {"name": "Pacific Trading"})
    await session.records.create("account", {"name": "Pacman Games"})
    zurich = await session.records.create("account", {"name": "Zürich Versicherung"})
    page = await session.records.search("account", "pacif")
    assert [r.id for r in page.records] == [pacific.id]
    assert [r.id for r in (await session.records.search("account", "ZURI")).records] == [zurich.id]
    assert (await session.records.search("account", "pacifica")).records == []
    sorted_page = await session.records.list("account", search="pacif", order="name")
    assert [r.id for r in sorted_page.records] == [pacific.id]


@pytest.mark.parametrize("query", ["a", "ac", "acme", "acme 3", "zeta", "emile", "berl", "row 1"])
async def test_search_equals_a_brute_force_word_prefix_scan(filled: Session, query: str) -> None:
    from tui_crm.store.search import words

    account = await filled.records.entity("account")
    text_fields = [f.name for f in account.fields if f.type.value in ("text", "multiline")]
    everything = (await filled.records.list("account", limit=1000)).records

    def matches(record: Record) -> bool:
        found = set(words(record.name))
        for name in text_fields:
            value = record.fields.get(name)
            if isinstance(value, str):
                found.update(words(value))
        return all(any(w.startswith(t) for w in found) for t in words(query))

    expected = {r.id for r in everything if matches(r)}
    got = await _walk(filled, 25, search=query)
    assert len(got) == len(set(got))
    assert set(got) == expected
