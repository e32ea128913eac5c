"""Text output: tables that fit the terminal and never pass control characters through."""

from __future__ import annotations

import io
import json
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_crm.cli.output import (
    cell_width,
    clean,
    fit_widths,
    print_json,
    render_pairs,
    render_table,
    truncate,
)


def test_table_fits_80_columns_and_keeps_fixed_id_whole() -> None:
    ident = "0f8fad5b-d9cb-469f-a165-70867728950e"
    rows = [[ident, "A" * 70, "Springfield with a very long city name", "created"]]
    lines = render_table(
        ["id", "name", "city", "state"], rows, width=80, fixed=[True, False, False, True]
    )
    assert all(cell_width(line) <= 80 for line in lines)
    assert ident in lines[1]
    assert lines[1].rstrip().endswith("created")
    assert "…" in lines[1] or "~" in lines[1]


def test_columns_are_aligned() -> None:
    lines = render_table(["id", "name"], [["1", "Ann"], ["22", "Bob"]], width=80)
    assert lines == ["id  name", "1   Ann", "22  Bob"]


def test_control_characters_cannot_reach_the_terminal() -> None:
    hostile = "Evil\x1b]0;pwned\x07Corp\r\nline2\u202e"
    [_, row] = render_table(["name"], [[hostile]], width=80)
    assert "\x1b" not in row and "\x07" not in row and "\r" not in row and "\n" not in row
    assert "\u202e" not in row
    assert "Evil" in row and "Corp" in row
    assert "\x1b" not in clean(hostile)


def test_wide_characters_count_double() -> None:
    assert cell_width("東京") == 4
    cut = truncate("東京都庁舎", 5)
    assert cell_width(cut) <= 5


def test_pairs_cut_only_when_asked() -> None:
    pairs = [("name", "x" * 200), ("city", "Oslo")]
    assert len(render_pairs(pairs)[0]) > 200
    assert all(cell_width(line) <= 40 for line in render_pairs(pairs, width=40))


@given(
    st.lists(
        st.lists(st.text(max_size=60), min_size=3, max_size=3),
        max_size=8,
    ),
    st.integers(min_value=20, max_value=200),
)
def test_any_table_fits_any_width(rows: list[list[str]], width: int) -> None:
    lines = render_table(["id", "name", "city"], rows, width=width)
    assert all(cell_width(line) <= width for line in lines)
    assert all(clean(line) == line for line in lines)


def test_fit_widths_shrinks_widest_first() -> None:
    assert fit_widths([10, 50, 8], total=40, fixed=[True, False, False]) == [10, 18, 8]


def test_json_is_utf8_whatever_the_locale(
    monkeypatch: pytest.MonkeyPatch, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    with open(sys.stdout.fileno(), "wb", closefd=False) as raw:
        ascii_stdout = io.TextIOWrapper(raw, encoding="ascii")
        monkeypatch.setattr(sys, "stdout", ascii_stdout)
        print_json({"name": "Zoë 東京"})
        ascii_stdout.detach()
    out = capfdbinary.readouterr().out
    assert json.loads(out.decode("utf-8")) == {"name": "Zoë 東京"}
