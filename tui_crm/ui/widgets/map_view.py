"""The text map as a widget: draws a RenderedMap line by line and repaints only what changed.

Over SSH every repainted cell costs bytes, so a new map is compared line by
line with the one on screen and only the rows that differ are refreshed;
a moving device marker or a new highlight repaints a few rows, not the map.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from tui_crm.services.nearby import RenderedMap, StyleSpan, cell_index

STYLE_CLASSES = {
    "pin": "map-grid--pin",
    "pin.highlight": "map-grid--pin-highlight",
    "label": "map-grid--label",
    "label.highlight": "map-grid--label-highlight",
    "device": "map-grid--device",
    "device.stale": "map-grid--device-stale",
    "ring": "map-grid--ring",
    "scale": "map-grid--scale",
    "north": "map-grid--north",
}


class MapGrid(Widget, can_focus=False):
    """Shows the lines of the last `RenderedMap`; `last_refreshed_rows` says what repainted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(STYLE_CLASSES.values())

    DEFAULT_CSS = """
    MapGrid { height: 1fr; }
    MapGrid > .map-grid--pin { color: $text; text-style: bold; }
    MapGrid > .map-grid--pin-highlight { color: $text; background: $accent; text-style: bold; }
    MapGrid > .map-grid--label { color: $text-muted; }
    MapGrid > .map-grid--label-highlight { color: $text; text-style: bold underline; }
    MapGrid > .map-grid--device { color: $success; text-style: bold; }
    MapGrid > .map-grid--device-stale { color: $text-disabled; }
    MapGrid > .map-grid--ring { color: $primary; }
    MapGrid > .map-grid--scale { color: $text-muted; }
    MapGrid > .map-grid--north { color: $text-muted; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: tuple[str, ...] = ()
        self._spans: dict[int, list[StyleSpan]] = {}
        self.last_refreshed_rows: list[int] = []
        self.rendered: RenderedMap | None = None

    def show(self, rendered: RenderedMap) -> list[int]:
        """Swap in a new map; refresh only rows whose text or styles changed."""
        old_lines, old_spans = self._lines, self._spans
        spans: dict[int, list[StyleSpan]] = {}
        for span in rendered.spans:
            spans.setdefault(span.row, []).append(span)
        self._lines, self._spans, self.rendered = rendered.lines, spans, rendered
        rows = max(len(old_lines), len(rendered.lines))
        changed = [
            row
            for row in range(rows)
            if _at(old_lines, row) != _at(rendered.lines, row)
            or old_spans.get(row, []) != spans.get(row, [])
        ]
        width = max(self.size.width, max((cell_len(line) for line in rendered.lines), default=0))
        for row in changed:
            self.refresh(Region(0, row, width, 1))
        self.last_refreshed_rows = changed
        return changed

    def render_line(self, y: int) -> Strip:
        if y >= len(self._lines):
            return Strip.blank(self.size.width, self.rich_style)
        line = self._lines[y]
        base = self.rich_style
        segments: list[Segment] = []
        at = cell_index(line)  # spans are in cells; a CJK label has two cells a character
        position = 0
        for span in self._spans.get(y, []):
            start, end = at[min(span.start, len(at) - 1)], at[min(span.end, len(at) - 1)]
            if start > position:
                segments.append(Segment(line[position:start], base))
            style = base + self._style_for(span.style)
            segments.append(Segment(line[start:end], style))
            position = end
        if position < len(line):
            segments.append(Segment(line[position:], base))
        return Strip(segments).crop_extend(0, self.size.width, base)

    def _style_for(self, name: str) -> Style:
        component = STYLE_CLASSES.get(name)
        return self.get_component_rich_style(component) if component else Style()


def _at(lines: tuple[str, ...], row: int) -> str | None:
    return lines[row] if row < len(lines) else None
