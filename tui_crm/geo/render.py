"""The text-grid map: a pure function from records, centre, scale, size and mode to text.

Nothing here touches a terminal, so the interface, the `map` command and the
tests all draw the same characters. The background (accuracy and range rings)
is drawn at sub-cell resolution: braille gives 2x4 dots per cell, half blocks
1x2, ASCII 1x2 with `'`, `.` and `:`. Pins, labels, the device marker, the
scale bar and the north marker are whole characters on top. Labels are placed
greedily, nearest record first, and a label that would touch another label or
cover a pin is dropped (and counted) rather than overlapping.

Everything is measured in terminal cells, not characters: a CJK label takes
two cells a character, and control or zero-width characters (ESC, bidi
overrides, joiners) never reach the grid, so every line is exactly `width`
cells. The north marker, the scale bar and the device marker are reserved:
a pin in one of their cells is not drawn (counted in `hidden_pins`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich.cells import get_character_cell_size

from tui_crm.geo.projection import project

MapMode = Literal["braille", "blocks", "ascii"]
MAP_MODES: tuple[MapMode, ...] = ("braille", "blocks", "ascii")

DOTS_PER_CELL: dict[MapMode, tuple[int, int]] = {
    "braille": (2, 4),
    "blocks": (1, 2),
    "ascii": (1, 2),
}
_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""Indexed [y][x] inside a cell: the Unicode braille dot numbering."""

LABEL_MAX = 10
DEVICE_GLYPH = "@"
GROUP_GLYPH = "+"
MAX_RING_SAMPLES = 20_000


@dataclass(frozen=True, slots=True)
class MapPin:
    """A record on the map; `rank` orders label placement (0 = nearest, placed first)."""

    key: str
    lat: float
    lon: float
    marker: str
    label: str = ""
    rank: int = 0
    highlighted: bool = False


@dataclass(frozen=True, slots=True)
class DeviceMarker:
    lat: float
    lon: float
    accuracy_m: float | None = None
    stale: bool = False


@dataclass(frozen=True, slots=True)
class MapView:
    """`metres_per_cell` is the horizontal scale; a cell is `cell_aspect` times taller."""

    centre_lat: float
    centre_lon: float
    metres_per_cell: float
    width: int
    height: int
    mode: MapMode = "braille"
    cell_aspect: float = 2.0
    range_ring_m: float | None = None


@dataclass(frozen=True, slots=True)
class StyleSpan:
    row: int
    start: int
    end: int
    style: str


@dataclass(frozen=True, slots=True)
class ProjectedPin:
    pin: MapPin
    east_m: float
    north_m: float


@dataclass(frozen=True, slots=True)
class RenderedMap:
    lines: tuple[str, ...]
    spans: tuple[StyleSpan, ...]
    dropped_labels: int
    off_map: int
    pin_cells: dict[str, tuple[int, int]] = field(default_factory=dict)
    """key -> (column, row) of every pin drawn."""
    scale_m: float = 0.0
    hidden_pins: int = 0
    """Pins inside the map but under the device marker, north marker or scale bar."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def project_pins(
    centre_lat: float, centre_lon: float, pins: Iterable[MapPin]
) -> list[ProjectedPin]:
    """The geodesic part of rendering, separable so a zoom can reuse it."""
    return [ProjectedPin(p, *project(centre_lat, centre_lon, p.lat, p.lon)) for p in pins]


def nice_scale_length(metres_per_cell: float, max_cells: int) -> float:
    """The largest 1/2/5 x 10^n metres that fits in `max_cells` cells."""
    limit = metres_per_cell * max(1, max_cells)
    exponent = math.floor(math.log10(limit))
    best = 10.0**exponent
    for mantissa in (1.0, 2.0, 5.0):
        candidate = mantissa * 10.0**exponent
        if candidate <= limit:
            best = candidate
    return best


def format_distance(metres: float) -> str:
    if metres >= 1000:
        km = metres / 1000
        return f"{km:g} km" if km >= 10 or km == int(km) else f"{km:.1f} km"
    return f"{metres:.0f} m"


class _Canvas:
    """The dot layer plus the character overlay, both in one grid."""

    def __init__(self, view: MapView) -> None:
        self.view = view
        self.width, self.height = view.width, view.height
        self.dx, self.dy = DOTS_PER_CELL[view.mode]
        self.dots = [[0] * self.width for _ in range(self.height)]
        self.chars: list[list[str | None]] = [[None] * self.width for _ in range(self.height)]
        """A character, "" for the second cell of a wide one, None for the dot layer."""
        self.styles: list[list[str | None]] = [[None] * self.width for _ in range(self.height)]
        self.taken = [[False] * self.width for _ in range(self.height)]

    def cell_of(self, east_m: float, north_m: float) -> tuple[float, float]:
        """Fractional (column, row) of a projected point; the centre is the middle cell."""
        view = self.view
        col = self.width / 2 + east_m / view.metres_per_cell
        row = self.height / 2 - north_m / (view.metres_per_cell * view.cell_aspect)
        return col, row

    def inside(self, col: int, row: int) -> bool:
        return 0 <= col < self.width and 0 <= row < self.height

    def set_dot(self, dot_x: int, dot_y: int) -> None:
        col, row = dot_x // self.dx, dot_y // self.dy
        if not self.inside(col, row):
            return
        sub_x, sub_y = dot_x - col * self.dx, dot_y - row * self.dy
        self.dots[row][col] |= 1 << (sub_y * self.dx + sub_x)

    def ring(self, east_m: float, north_m: float, radius_m: float) -> None:
        col, row = self.cell_of(east_m, north_m)
        cx, cy = col * self.dx, row * self.dy
        dot_w = self.view.metres_per_cell / self.dx
        dot_h = self.view.metres_per_cell * self.view.cell_aspect / self.dy
        rx, ry = radius_m / dot_w, radius_m / dot_h
        if max(rx, ry) < 1.0:
            return
        samples = min(MAX_RING_SAMPLES, max(24, int(2 * math.pi * max(rx, ry) * 2)))
        for i in range(samples):
            angle = 2 * math.pi * i / samples
            dot_x = math.floor(cx + rx * math.sin(angle))
            self.set_dot(dot_x, math.floor(cy - ry * math.cos(angle)))

    def put(self, col: int, row: int, text: str, style: str) -> None:
        """Write cell by cell; a wide character fills two cells or, if cut by an edge, none."""
        c = col
        for char in text:
            size = cell_width(char)
            if size == 0:
                continue
            if self.inside(c, row) and self.inside(c + size - 1, row):
                for k in range(size):
                    self._clear_wide_neighbour(c + k, row)
                    self.chars[row][c + k] = char if k == 0 else ""
                    self.styles[row][c + k] = style
                    self.taken[row][c + k] = True
            c += size

    def _clear_wide_neighbour(self, col: int, row: int) -> None:
        """Overwriting half of a wide character blanks its other half."""
        line = self.chars[row]
        if line[col] == "" and col > 0:
            line[col - 1] = " "
        elif col + 1 < self.width and line[col + 1] == "" and line[col] not in (None, ""):
            line[col + 1] = " "

    def free(self, col: int, row: int, length: int) -> bool:
        if row < 0 or row >= self.height or col < 0 or col + length > self.width:
            return False
        return not any(self.taken[row][col : col + length])

    def finish(self) -> tuple[tuple[str, ...], tuple[StyleSpan, ...]]:
        lines: list[str] = []
        spans: list[StyleSpan] = []
        for row in range(self.height):
            chars: list[str] = []
            styles: list[str | None] = []
            for col in range(self.width):
                char = self.chars[row][col]
                if char is not None:
                    chars.append(char)
                    styles.append(self.styles[row][col])
                else:
                    glyph = cell_glyph(self.view.mode, self.dots[row][col])
                    chars.append(glyph)
                    styles.append("ring" if glyph != " " else None)
            lines.append("".join(chars))
            spans.extend(_runs(row, styles))
        return tuple(lines), tuple(spans)


def cell_glyph(mode: MapMode, bits: int) -> str:
    """The character for one cell's dots; bit (sub_y * dots_x + sub_x) is the dot at (x, y)."""
    if bits == 0:
        return " "
    if mode == "braille":
        value = 0
        for sub_y in range(4):
            for sub_x in range(2):
                if bits & (1 << (sub_y * 2 + sub_x)):
                    value |= _BRAILLE_BITS[sub_y][sub_x]
        return chr(0x2800 + value)
    top, bottom = bool(bits & 1), bool(bits & 2)
    if mode == "blocks":
        return "█" if top and bottom else ("▀" if top else "▄")
    return ":" if top and bottom else ("'" if top else ".")


def _runs(row: int, styles: Sequence[str | None]) -> list[StyleSpan]:
    spans: list[StyleSpan] = []
    start = 0
    for col in range(1, len(styles) + 1):
        if col == len(styles) or styles[col] != styles[start]:
            style = styles[start]
            if style is not None:
                spans.append(StyleSpan(row, start, col, style))
            start = col
    return spans


def _draw_furniture(canvas: _Canvas) -> float:
    """North marker top right, scale bar bottom left; returns the bar's length in metres."""
    view = canvas.view
    ascii_only = view.mode == "ascii"
    if canvas.width >= 1 and canvas.height >= 2:
        canvas.put(canvas.width - 1, 0, "N", "north")
        canvas.put(canvas.width - 1, 1, "^" if ascii_only else "↑", "north")
    if canvas.width < 8 or canvas.height < 3:
        return 0.0
    length_m = nice_scale_length(view.metres_per_cell, max(2, canvas.width // 4) - 1)
    cells = max(2, round(length_m / view.metres_per_cell) + 1)
    left, middle, right = ("|", "-", "|") if ascii_only else ("├", "─", "┤")
    bar = left + middle * (cells - 2) + right
    canvas.put(0, canvas.height - 1, f"{bar} {format_distance(length_m)}", "scale")
    return length_m


def render_projected(
    view: MapView,
    pins: Sequence[ProjectedPin],
    device: DeviceMarker | None = None,
    device_at: tuple[float, float] | None = None,
) -> RenderedMap:
    """Render already-projected pins; `device_at` is the device's (east, north) in metres."""
    if view.width <= 0 or view.height <= 0:
        return RenderedMap((), (), 0, len(pins))
    if not view.metres_per_cell > 0:
        raise ValueError("metres_per_cell must be positive")
    canvas = _Canvas(view)
    if device is not None and device_at is None:
        device_at = project(view.centre_lat, view.centre_lon, device.lat, device.lon)
    ring_centre = device_at if device_at is not None else (0.0, 0.0)
    if view.range_ring_m:
        canvas.ring(*ring_centre, view.range_ring_m)
    if device is not None and device_at is not None and device.accuracy_m:
        canvas.ring(*device_at, device.accuracy_m)
    scale_m = _draw_furniture(canvas)

    cells: dict[tuple[int, int], list[MapPin]] = {}
    off_map = 0
    for projected in pins:
        col_f, row_f = canvas.cell_of(projected.east_m, projected.north_m)
        col, row = math.floor(col_f), math.floor(row_f)
        if not canvas.inside(col, row):
            off_map += 1
            continue
        cells.setdefault((col, row), []).append(projected.pin)

    if device is not None and device_at is not None:
        col_f, row_f = canvas.cell_of(*device_at)
        col, row = math.floor(col_f), math.floor(row_f)
        if canvas.inside(col, row) and not canvas.taken[row][col]:
            # The device wins its cell: "where am I" matters more than a pin there.
            canvas.put(col, row, DEVICE_GLYPH, "device.stale" if device.stale else "device")

    pin_cells: dict[str, tuple[int, int]] = {}
    groups: list[tuple[tuple[int, int], list[MapPin]]] = []
    hidden = 0
    for (col, row), group in cells.items():
        if canvas.taken[row][col]:  # the device, north marker or scale bar is there
            hidden += len(group)
            continue
        group.sort(key=lambda p: (not p.highlighted, p.rank, p.key))
        lead = group[0]
        highlighted = any(p.highlighted for p in group)
        glyph = _pin_glyph(lead.marker) if len(group) == 1 else GROUP_GLYPH
        canvas.put(col, row, glyph, "pin.highlight" if highlighted else "pin")
        for pin in group:
            pin_cells[pin.key] = (col, row)
        groups.append(((col, row), group))

    dropped = 0
    groups.sort(key=lambda item: (not item[1][0].highlighted, item[1][0].rank, item[1][0].key))
    for (col, row), group in groups:
        dropped += len(group) - 1
        lead = group[0]
        label = short_label(lead.label, view.mode)
        if not label:
            continue
        if not _place_label(canvas, col, row, label, lead.highlighted):
            dropped += 1

    lines, spans = canvas.finish()
    return RenderedMap(lines, spans, dropped, off_map, pin_cells, scale_m, hidden)


_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def cell_width(char: str) -> int:
    """Terminal cells of one character: 0 for control, format and combining ones."""
    if unicodedata.category(char) in _UNPRINTABLE:
        return 0
    return min(2, max(0, get_character_cell_size(char)))


def cells_of(text: str) -> int:
    """Cells of text as the canvas lays it out (zero-width characters dropped)."""
    return sum(cell_width(char) for char in text)


def printable(text: str) -> str:
    """Record data made safe for the grid: composed, whitespace runs as one space,
    control/format/zero-width characters (ESC, bidi overrides, joiners) removed."""
    composed = unicodedata.normalize("NFC", text)
    spaced = " ".join("".join(c if not c.isspace() else " " for c in composed).split())
    return "".join(c for c in spaced if cell_width(c) > 0)


def _pin_glyph(marker: str) -> str:
    glyph = printable(marker)[:1] or "*"
    return glyph if cell_width(glyph) == 1 else "*"


def short_label(label: str, mode: MapMode) -> str:
    """At most LABEL_MAX cells, with a visible cut (`…`, or `~` where only ASCII is safe)."""
    text = printable(label)
    if cells_of(text) <= LABEL_MAX:
        return text
    cut, used = [], 0
    for char in text:
        size = cell_width(char)
        if used + size > LABEL_MAX - 1:
            break
        cut.append(char)
        used += size
    return "".join(cut).rstrip() + ("~" if mode == "ascii" else "…")


def cell_index(line: str) -> list[int]:
    """For each cell column of a rendered line, the string index where it starts.

    Spans are in cells; a widget slicing the string needs indices. The entry
    one past the last cell is len(line). The second cell of a wide character
    maps to the index after it (spans never split a wide character).
    """
    index: list[int] = []
    for position, char in enumerate(line):
        index.extend([position] + [position + 1] * (cell_width(char) - 1))
    index.append(len(line))
    return index


def _place_label(canvas: _Canvas, col: int, row: int, label: str, highlighted: bool) -> bool:
    """Right of the pin, else left, one cell away; a free cell of margin on the far side.

    The gap cell is claimed too, so no other label or marker can butt up
    against the pin and make it read as part of a word.
    """
    style = "label.highlight" if highlighted else "label"
    length = cells_of(label)
    right = col + 2
    if canvas.free(col + 1, row, length + 1) and _margin_free(canvas, right + length, row):
        canvas.put(right, row, label, style)
        _claim(canvas, col + 1, row)
        return True
    left = col - 1 - length
    if canvas.free(left, row, length + 1) and _margin_free(canvas, left - 1, row):
        canvas.put(left, row, label, style)
        _claim(canvas, col - 1, row)
        return True
    return False


def _claim(canvas: _Canvas, col: int, row: int) -> None:
    canvas.taken[row][col] = True


def _margin_free(canvas: _Canvas, col: int, row: int) -> bool:
    return not canvas.inside(col, row) or not canvas.taken[row][col]


def render_map(
    view: MapView, pins: Sequence[MapPin], device: DeviceMarker | None = None
) -> RenderedMap:
    """Project around the view's centre, then render."""
    projected = project_pins(view.centre_lat, view.centre_lon, pins)
    return render_projected(view, projected, device)
