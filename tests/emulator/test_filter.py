"""$filter grammar: hand-picked cases over HTTP, and generated ones against a Python predicate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_crm.emulator.dataverse import DataverseEmulator
from tui_crm.emulator.dataverse.errors import ODataError
from tui_crm.emulator.dataverse.odata import parse_filter

ROWS: list[dict[str, Any]] = [
    {"name": "Alpha", "n": 1, "x": 1.5, "flag": True, "when": "2024-01-02T10:00:00Z"},
    {"name": "beta", "n": 2, "x": None, "flag": False, "when": "2024-03-01T00:00:00Z"},
    {"name": None, "n": 3, "x": -2.0, "flag": None, "when": None},
    {"name": "O'Brien", "n": None, "x": 0.0, "flag": True, "when": "2023-12-31T23:59:59Z"},
    {"name": "alphabet", "n": 5, "x": 9.25, "flag": False, "when": "2024-01-02T10:00:00Z"},
]
KINDS = {"name": "string", "n": "number", "x": "number", "flag": "bool", "when": "datetime"}


def _matches(text: str) -> list[int]:
    predicate = parse_filter(text, KINDS.get, "thing")
    return [index for index, row in enumerate(ROWS) if predicate(row)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name eq 'alpha'", [0]),  # case-insensitive, as SQL Server compares
        ("name ne 'alpha'", [1, 2, 3, 4]),  # ne is true for null
        ("name eq null", [2]),
        ("name ne null", [0, 1, 3, 4]),
        ("n gt 2", [2, 4]),
        ("n ge 2 and n le 3", [1, 2]),
        ("n lt 2 or flag eq false", [0, 1, 4]),
        ("not (n lt 3)", [2, 3, 4]),
        ("contains(name,'ALPH')", [0, 4]),
        ("startswith(name,'al') and not endswith(name,'bet')", [0]),
        ("name eq 'O''Brien'", [3]),
        ("x gt -1 and x lt 2", [0, 3]),
        ("when gt 2024-01-01T00:00:00Z", [0, 1, 4]),
        ("when le 2024-01-02", [3]),
        ("(n eq 1 or n eq 5) and (flag eq true)", [0]),
        ("2 lt n", [2, 4]),  # literal first is turned around
        ("flag eq true", [0, 3]),
    ],
)
def test_filter_cases(text: str, expected: list[int]) -> None:
    assert _matches(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "name eq",
        "name eq 'x' and",
        "(name eq 'x'",
        "name equals 'x'",
        "colour eq 'red'",
        "n eq 'two'",
        "contains(n,'1')",
        "name eq 'unterminated",
        "name eq 'x' extra",
        "",
    ],
)
def test_bad_filters_are_400(text: str) -> None:
    with pytest.raises(ODataError) as caught:
        parse_filter(text, KINDS.get, "thing")
    assert caught.value.status == 400 and caught.value.message


# --- generated expressions vs. a Python predicate ------------------------------------

Expr = tuple[str, Callable[[dict[str, Any]], bool]]

_NAMES = st.sampled_from(["alpha", "Alpha", "beta", "O'Brien", "al", "bet", "zzz"])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def _comparison(draw: st.DrawFn) -> Expr:
    choice = draw(st.sampled_from(["name", "n", "contains", "startswith", "null"]))
    if choice == "name":
        value = draw(_NAMES)
        op = draw(st.sampled_from(["eq", "ne"]))
        if op == "eq":
            return (
                f"name eq {_quote(value)}",
                lambda r: r["name"] is not None and r["name"].lower() == value.lower(),
            )
        return (
            f"name ne {_quote(value)}",
            lambda r: r["name"] is None or r["name"].lower() != value.lower(),
        )
    if choice == "n":
        number = draw(st.integers(-1, 6))
        op = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]))
        compare = {
            "eq": lambda a: a == number,
            "ne": lambda a: a != number,
            "gt": lambda a: a > number,
            "ge": lambda a: a >= number,
            "lt": lambda a: a < number,
            "le": lambda a: a <= number,
        }[op]
        return (f"n {op} {number}", lambda r: (op == "ne") if r["n"] is None else compare(r["n"]))
    if choice == "null":
        return ("n eq null", lambda r: r["n"] is None)
    needle = draw(_NAMES)
    if choice == "contains":
        return (
            f"contains(name,{_quote(needle)})",
            lambda r: r["name"] is not None and needle.lower() in r["name"].lower(),
        )
    return (
        f"startswith(name,{_quote(needle)})",
        lambda r: r["name"] is not None and r["name"].lower().startswith(needle.lower()),
    )


def _combine(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def build(parts: tuple[str, Expr, Expr]) -> Expr:
        kind, (left_text, left), (right_text, right) = parts
        if kind == "and":
            return (f"({left_text}) and ({right_text})", lambda r: left(r) and right(r))
        if kind == "or":
            return (f"({left_text}) or ({right_text})", lambda r: left(r) or right(r))
        return (f"not ({left_text})", lambda r: not left(r))

    return st.tuples(st.sampled_from(["and", "or", "not"]), children, children).map(build)


EXPRESSIONS = st.recursive(_comparison(), _combine, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS)
def test_generated_filters_agree_with_python(expression: Expr) -> None:
    text, predicate = expression
    assert _matches(text) == [i for i, row in enumerate(ROWS) if predicate(row)]


# --- over HTTP -------------------------------------------------------------------------


def test_filter_over_http_on_lookups_and_numbers(
    emulator: DataverseEmulator, api: httpx.Client
) -> None:
    account = emulator.records("account")[0]
    contacts = [
        c
        for c in emulator.records("contact")
        if c["_parentcustomerid_value"] == account["accountid"]
    ]
    response = api.get(
        "contacts",
        params={
            "$select": "fullname",
            "$filter": f"_parentcustomerid_value eq {account['accountid']}",
        },
    )
    assert response.status_code == 200
    assert {e["contactid"] for e in response.json()["value"]} == {c["contactid"] for c in contacts}
    big = api.get("accounts", params={"$filter": "numberofemployees ge 2500 and statecode eq 0"})
    expected = {
        a["accountid"] for a in emulator.records("account") if a["numberofemployees"] >= 2500
    }
    assert {e["accountid"] for e in big.json()["value"]} == expected
    recent = api.get("accounts", params={"$filter": "modifiedon gt 2024-01-08T08:00:00Z"})
    assert len(recent.json()["value"]) == 12


def test_unknown_property_in_filter_or_select_is_400(api: httpx.Client) -> None:
    response = api.get("accounts", params={"$filter": "parentcustomerid eq null"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Could not find a property named 'parentcustomerid' on type "
        "'Microsoft.Dynamics.CRM.account'."
    )
    assert api.get("accounts", params={"$select": "name,nope"}).status_code == 400
    assert api.get("contacts", params={"$select": "parentcustomerid"}).status_code == 400
