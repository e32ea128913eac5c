"""Printing for the headless commands: JSON exactly as CLI.md, and text that fits the terminal.

Record contents come from other people's servers, so text output strips
control characters: a name holding an escape sequence must not be able to
retitle or repaint the user's terminal.
"""

from __future__ import annotations

import json
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

DEFAULT_WIDTH = 80
COLUMN_GAP = "  "
MIN_COLUMN_WIDTH = 4


def print_json(document: Any) -> None:
    """One UTF-8 JSON document on stdout, whatever the locale's encoding is."""
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def terminal_width() -> int:
    """COLUMNS or the terminal's width; 80 when piped, like the device's console."""
    return max(20, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def clean(text: str) -> str:
    """One printable line: controls (ESC, CR, BEL, newlines, ...) become visible or spaces."""
    out: list[str] = []
    for char in text:
        if char in "\n\t":
            out.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            out.append("?")
        else:
            out.append(char)
    return "".join(out)


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """Columns the text takes on a terminal (wide CJK characters take two)."""
    return sum(char_width(char) for char in text)


def _ellipsis() -> str:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return "…" if encoding.startswith("utf") else "~"


def truncate(text: str, width: int) -> str:
    """Cut to at most `width` terminal columns, marking the cut."""
    if cell_width(text) <= width:
        return text
    if width <= 0:
        return ""
    mark = _ellipsis()
    budget = width - 1
    kept: list[str] = []
    used = 0
    for char in text:
        w = char_width(char)
        if used + w > budget:
            break
        kept.append(char)
        used += w
    return "".join(kept) + mark


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_width(text))


def fit_widths(natural: Sequence[int], total: int, fixed: Sequence[bool]) -> list[int]:
    """Shrink the widest flexible columns until the row fits `total` columns.

    Fixed columns (the id, which is useless cut) keep their width; the others
    give up width from the widest first, so short columns stay whole.
    """
    widths = list(natural)
    available = total - len(COLUMN_GAP) * (len(widths) - 1)
    while sum(widths) > available:
        flexible = [i for i, w in enumerate(widths) if not fixed[i] and w > MIN_COLUMN_WIDTH]
        if not flexible:
            break
        widest = max(flexible, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    fixed: Sequence[bool] | None = None,
) -> list[str]:
    """Aligned columns no wider than `width`; cells are cleaned and cut as needed."""
    fixed_flags = list(fixed) if fixed is not None else [False] * len(headers)
    cleaned = [[clean(cell) for cell in row] for row in rows]
    natural = [
        max([cell_width(headers[i])] + [cell_width(row[i]) for row in cleaned])
        for i in range(len(headers))
    ]
    widths = fit_widths(natural, width, fixed_flags)
    lines = []
    for row in [list(headers), *cleaned]:
        cells = [pad(truncate(cell, widths[i]), widths[i]) for i, cell in enumerate(row)]
        lines.append(truncate(COLUMN_GAP.join(cells).rstrip(), width))
    return lines


def render_pairs(pairs: Sequence[tuple[str, str]], *, width: int | None = None) -> list[str]:
    """`name  value` lines for one record; values are cut only when a width is given."""
    if not pairs:
        return []
    key_width = max(cell_width(clean(key)) for key, _ in pairs)
    lines = [pad(clean(key), key_width) + COLUMN_GAP + clean(value) for key, value in pairs]
    return lines if width is None else [truncate(line, width) for line in lines]
