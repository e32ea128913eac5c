"""Pure parts of the interface: idle watch, password rules, config merge, column widths."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.ui.conftest import FakeClock
from tui_crm.domain import RecordState
from tui_crm.ui.app import STYLES_DIR, CrmApp, stylesheets, wants_ansi_theme
from tui_crm.ui.auto_lock import IdleWatch
from tui_crm.ui.glyphs import STATE_GLYPHS, legend
from tui_crm.ui.password_hint import MIN_PASSWORD_LENGTH, password_problem, strength_hint
from tui_crm.ui.settings_file import merge_into_config_file
from tui_crm.ui.widgets.record_table import column_widths


def test_idle_watch_expires_only_after_the_limit() -> None:
    clock = FakeClock()
    watch = IdleWatch(2, clock)
    clock.advance(119)
    assert not watch.expired()
    clock.advance(1)
    assert watch.expired()
    watch.touch()
    assert not watch.expired()


def test_idle_watch_zero_means_never_and_new_limit_counts_from_now() -> None:
    clock = FakeClock()
    watch = IdleWatch(0, clock)
    clock.advance(10**7)
    assert not watch.expired()
    watch.minutes = 1
    assert not watch.expired()
    clock.advance(60)
    assert watch.expired()
    watch.minutes = -5
    assert watch.minutes == 0 and not watch.expired()


def test_password_rules() -> None:
    assert password_problem("a" * (MIN_PASSWORD_LENGTH - 1), "a" * (MIN_PASSWORD_LENGTH - 1))
    assert password_problem("a" * MIN_PASSWORD_LENGTH, "b" * MIN_PASSWORD_LENGTH) == (
        "the two passwords differ"
    )
    assert password_problem("abcdefgh", "abcdefgh") is None
    assert strength_hint("") == ""
    assert strength_hint("abc") == "strength: weak"
    assert strength_hint("Tr0ub4dor&3-horse-staple") == "strength: strong"


def test_merge_keeps_other_keys_and_replaces_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "config.toml"
    merge_into_config_file(path, {"theme": "nord"})
    path.write_text(path.read_text() + '[keymap]\n"records.new" = "a"\n')
    merge_into_config_file(path, {"map_enabled": False, "ignored": None})
    data = tomllib.loads(path.read_text())
    assert data == {"theme": "nord", "map_enabled": False, "keymap": {"records.new": "a"}}
    path.write_text("this is = = not toml")
    merge_into_config_file(path, {"auto_lock_minutes": 5})
    assert tomllib.loads(path.read_text()) == {"auto_lock_minutes": 5}
    assert not list(path.parent.glob("*.tmp")), "no temporary file left behind"


@given(count=st.integers(min_value=1, max_value=8), width=st.integers(min_value=20, max_value=300))
def test_columns_fit_the_terminal_when_they_can(count: int, width: int) -> None:
    widths = column_widths(count, width)
    assert len(widths) == count
    assert all(w >= 10 for w in widths)
    needed = sum(widths) + 2 * count + 3 + 2
    if width >= count * 12 + 5:
        assert needed <= width


def test_every_state_has_a_distinct_glyph_named_in_the_legend() -> None:
    glyphs = [STATE_GLYPHS[state] for state in RecordState]
    assert len(set(glyphs)) == len(glyphs)
    for state in RecordState:
        if state is not RecordState.SYNCED:
            assert f"{STATE_GLYPHS[state]}=" in legend()


def test_every_packaged_stylesheet_is_loaded() -> None:
    files = sorted(STYLES_DIR.glob("*.tcss"))
    assert files, "styles are packaged inside tui_crm/ui/styles"
    assert [Path(p) for p in stylesheets()] == files
    assert {Path(p) for p in CrmApp.CSS_PATH} >= set(files)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("standard", True), ("windows", True), ("truecolor", False), ("", False)],
)
def test_sixteen_colour_terminals_get_the_ansi_theme(value: str, expected: bool) -> None:
    assert wants_ansi_theme({"TEXTUAL_COLOR_SYSTEM": value}) is expected
