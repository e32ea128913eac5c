"""The pure parts behind the sync screens: progress board, merge model, large letters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_crm.domain import Conflict
from tui_crm.domain.standard_schema import STANDARD_ENTITIES
from tui_crm.services.sync import Progress
from tui_crm.ui.big_text import FONT, big_text
from tui_crm.ui.merge_model import EDITED, MINE, SERVER, UNDECIDED, Merge
from tui_crm.ui.sync_board import DONE, PULLING, WAITING, SyncBoard, human_bytes, human_seconds

ACCOUNT = next(e for e in STANDARD_ENTITIES if e.name == "account")


def step(entity: str, done: int, seconds: float, phase: str = "pull") -> Progress:
    return Progress(
        phase, entity, done, requests=done, bytes_received=10 * done, bytes_sent=0, seconds=seconds
    )


def test_board_closes_earlier_entities_and_estimates_what_is_left() -> None:
    board = SyncBoard.start(
        [("account", "Accounts"), ("contact", "Contacts")], {"account": 100, "contact": 100}
    )
    assert board.remaining_seconds() is None, "nothing to scale yet"
    board.update(step("account", 50, 10.0))
    assert board.lines["account"].state == PULLING and board.lines["contact"].state == WAITING
    assert board.fraction == pytest.approx(0.25)
    assert board.remaining_seconds() == pytest.approx(30.0)
    board.update(step("contact", 20, 12.0))
    assert board.lines["account"].state == DONE and board.lines["account"].fraction == 1.0
    assert board.records_moved == 70
    board.update(step("account", 3, 13.0, phase="push"))
    assert board.lines["account"].pushed == 3 and board.lines["account"].state == DONE
    board.finish("done", {"requests": 9, "seconds": 14.5, "errors": 0})
    assert board.fraction == 1.0 and board.requests == 9 and board.seconds == 14.5
    assert board.remaining_seconds() == 0.0


def test_board_bar_grows_past_a_wrong_guess_and_a_cancel_leaves_it_partial() -> None:
    board = SyncBoard.start([("account", "Accounts")], {"account": 5})
    board.update(step("account", 40, 1.0))
    line = board.lines["account"]
    assert line.total == 40 and line.fraction == 1.0 and line.state == PULLING
    board.update(step("unknown", 1, 2.0))  # an entity the screen does not list changes nothing
    board.finish("sync cancelled")
    assert line.state == PULLING and board.outcome == "sync cancelled"


def test_a_first_pull_takes_the_length_the_server_announced() -> None:
    board = SyncBoard.start([("account", "Accounts")], {})
    line = board.lines["account"]
    board.update(Progress("pull", "account", 0, 1, 0, 0, 0.5, expected=1000))
    assert line.total == 1000 and line.fraction == 0.0
    board.update(step("account", 250, 2.0))
    assert line.expected == 1000, "later steps carry no length and keep it"
    assert line.fraction == pytest.approx(0.25)
    assert board.remaining_seconds() == pytest.approx(6.0)


def test_human_units() -> None:
    assert human_bytes(999) == "999 B" and human_bytes(1234567) == "1.2 MB"
    assert human_seconds(None) == "-" and human_seconds(65) == "1:05"
    assert human_seconds(3725) == "1:02:05"


def conflict(
    base: dict[str, object] | None,
    server: dict[str, object] | None,
    device: dict[str, object] | None,
) -> Conflict:
    return Conflict(1, "account", "id-1", "update-update", base, server, device, "7", "")


def test_merge_starts_on_the_side_that_changed_and_blocks_undecided_fields() -> None:
    base = {"name": "A", "telephone1": "1", "address1_city": "X", "fax": "f", "createdon": "c0"}
    server = {"name": "A", "telephone1": "2", "address1_city": "X", "fax": "g", "createdon": "c1"}
    mine = {"name": "A", "telephone1": "3", "address1_city": "Y", "fax": "f", "createdon": "c0"}
    merge = Merge.of(ACCOUNT, conflict(base, server, mine))
    choices = {f.name: f.choice for f in merge.fields}
    assert choices == {"telephone1": UNDECIDED, "address1_city": MINE, "fax": SERVER}
    assert merge.undecided() == ["Main Phone"]
    index = [f.name for f in merge.fields].index("telephone1")
    merge.choose(index, EDITED, "4")
    result = merge.result()
    assert result["telephone1"] == "4" and result["address1_city"] == "Y"
    assert result["fax"] == "g" and result["name"] == "A"
    merge.choose_all(SERVER)
    assert merge.result()["address1_city"] == "X"


def test_merge_of_a_deleted_record_offers_only_whole_choices() -> None:
    merge = Merge.of(ACCOUNT, conflict({"name": "A"}, None, {"name": "B"}))
    assert not merge.field_merge_possible


def test_merge_result_clears_a_field_the_chosen_side_emptied() -> None:
    merge = Merge.of(ACCOUNT, conflict({"fax": "f"}, {}, {"fax": "f"}))
    assert [f.choice for f in merge.fields] == [SERVER]
    assert "fax" not in merge.result()


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12))
def test_big_text_is_three_rows_four_columns_per_character(code: str) -> None:
    lines = big_text(code)
    assert len(lines) == 3
    assert {len(line) for line in lines} == {4 * len(code) - 1}


def test_every_glyph_differs_so_no_two_characters_read_alike() -> None:
    drawn = {char: tuple(big_text(char)) for char in FONT if char != " "}
    assert len(set(drawn.values())) == len(drawn)
