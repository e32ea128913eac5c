"""The stderr progress line of `sync` and `demo`: bar once the length is known, plain when piped."""

from __future__ import annotations

import io

from tui_crm.cli.progress_line import BAR_CELLS, LINE_WIDTH, ProgressLine, describe
from tui_crm.services.sync import Progress


def step(done: int, *, expected: int | None = None, phase: str = "pull") -> Progress:
    return Progress(phase, "account", done, 3, 5 * 1024 * 1024, 2048, 1.5, expected=expected)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_known_length_draws_a_bar_and_an_unknown_one_a_count() -> None:
    half = describe(step(500), 1000)
    assert "[" + "#" * (BAR_CELLS // 2) + "-" * (BAR_CELLS // 2) + "]" in half
    assert " 50% 500/1000" in half and "3 req" in half and "5.0 MiB" in half
    assert "#" not in describe(step(500), None) and "500 records" in describe(step(500), None)
    over = describe(step(1500), 1000)
    assert "#" * BAR_CELLS in over and "100%" in over, "a snapshot count may be short"
    assert "#" not in describe(step(5, phase="push"), 1000)


def test_the_length_announced_once_is_kept_for_later_steps() -> None:
    stream = Terminal()
    line = ProgressLine(stream)
    line(step(0, expected=200))
    line(step(50))
    line.close()
    written = stream.getvalue()
    frames = written.split("\r")[1:]
    assert len(frames) == 2 and all(len(f.rstrip("\n")) == LINE_WIDTH for f in frames)
    assert "50/200" in frames[1] and "25%" in frames[1]
    assert written.endswith("\n")


def test_piped_output_is_one_plain_line_per_change() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream)
    for done in (0, 10, 10, 20):
        line(step(done, expected=20 if done == 0 else None))
    line.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in stream.getvalue()
    assert "20/20" in lines[-1] and "100%" in lines[-1]
