"""The sync progress line on stderr, shared by `sync` and `demo`.

On a terminal it is one line rewritten in place, with a bar once the pull's
length is known (a first pull asks the server); piped, it is one plain line
per change, so logs stay readable. Plain ASCII, so it reads the same in any
terminal and with NO_COLOR.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tui_crm.services.sync import Progress

BAR_CELLS = 20
LINE_WIDTH = 79


def describe(progress: Progress, expected: int | None) -> str:
    """One line: phase, entity, a bar (or a count), requests and bytes received."""
    head = f"{progress.phase} {progress.entity:<12}"
    if expected and progress.phase == "pull":
        fraction = min(1.0, progress.done / expected)
        filled = round(fraction * BAR_CELLS)
        bar = "[" + "#" * filled + "-" * (BAR_CELLS - filled) + "]"
        body = f"{bar} {fraction:4.0%} {progress.done}/{expected}"
    else:
        body = f"{progress.done} records"
    return f"{head} {body}  {progress.requests} req  {_size(progress.bytes_received)}"


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count // 1024} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


class ProgressLine:
    """A progress callback for `SyncService.sync` that writes to `stream` (stderr)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._expected: dict[str, int] = {}
        self._last = ""

    def __call__(self, progress: Progress) -> None:
        if progress.expected is not None:
            self._expected[progress.entity] = progress.expected
        text = describe(progress, self._expected.get(progress.entity))
        if self._tty:
            self._stream.write("\r" + text[:LINE_WIDTH].ljust(LINE_WIDTH))
        elif text != self._last:
            self._stream.write(text + "\n")
        self._last = text
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._last:
            self._stream.write("\n")
            self._stream.flush()
