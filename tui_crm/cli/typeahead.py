"""Keys typed before the interface has drawn: not echoed, and Enter still submits.

Python and Textual take about a second to draw the unlock screen. A user who
types the password at once would otherwise see it echoed in clear on the
terminal by the kernel's line discipline (and left on the screen after quit),
and its Enter would arrive as a line feed that no field takes as submit. So
the terminal stops echoing and line-buffering the moment the process starts,
the typed bytes wait in the terminal's queue for Textual to read, and the
original settings come back when the interface has gone.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

try:
    import termios
except ImportError:  # pragma: no cover - not on this platform
    termios = None  # type: ignore[assignment]


@contextlib.contextmanager
def quiet_typeahead() -> Iterator[None]:
    """While inside: no echo, no line editing, CR kept as CR; restored afterwards."""
    if termios is None or not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    try:
        original = termios.tcgetattr(fd)
    except termios.error:
        yield
        return
    quiet = list(original)
    quiet[0] &= ~termios.ICRNL  # iflag: Enter stays "\r", as Textual reads it in raw mode
    quiet[3] &= ~(termios.ECHO | termios.ICANON)  # lflag
    # TCSANOW, not TCSAFLUSH: the keys already typed must stay queued.
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, original)
