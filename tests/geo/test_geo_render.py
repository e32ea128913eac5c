"""The text map: snapshots in all three modes, geometry, labels that never overlap."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from tui_crm.geo.mapping import fit_scale
from tui_crm.geo.projection import project, unproject
from tui_crm.geo.render import (
    LABEL_MAX,
    MAP_MODES,
    DeviceMarker,
    MapMode,
    MapPin,
    MapView,
    RenderedMap,
    StyleSpan,
    cell_glyph,
    cell_index,
    cells_of,
    nice_scale_length,
    printable,
    render_map,
    short_label,
)

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots" / "map"
UPDATE = os.environ.get("TUI_CRM_UPDATE_SNAPSHOTS") == "1"
WGS84 = Geodesic.WGS84
CENTRE = (48.1373, 11.5755)  # Marienplatz
NAMES = [
    "Viktualienmarkt",
    "Hofbräuhaus",
    "Odeonsplatz",
    "Sendlinger Tor",
    "Isartor",
    "Karlsplatz",
    "Gärtnerplatz",
    "Deutsches Museum",
    "Residenz",
    "Frauenkirche",
    "Max-Joseph-Platz",
    "Hauptbahnhof",
]


def scene_pins() -> list[MapPin]:
    pins = []
    for i, name in enumerate(NAMES):
        d = WGS84.Direct(*CENTRE, 37.0 * i + 10, 150.0 + 110.0 * i)
        pins.append(
            MapPin(
                f"account:{i}",
                d["lat2"],
                d["lon2"],
                "123456789abc"[i],
                name,
                rank=i,
                highlighted=i == 4,
            )
        )
    return pins


def scene(mode: MapMode, width: int, height: int) -> RenderedMap:
    view = MapView(
        *CENTRE,
        metres_per_cell=fit_scale(1450, width, height),
        width=width,
        height=height,
        mode=mode,
        range_ring_m=1400,
    )
    return render_map(view, scene_pins(), DeviceMarker(CENTRE[0], CENTRE[1], accuracy_m=90.0))


def label_spans(rendered: RenderedMap) -> list[StyleSpan]:
    return [s for s in rendered.spans if s.style.startswith("label")]


@pytest.mark.parametrize("mode", MAP_MODES)
@pytest.mark.parametrize("size", [(80, 12), (80, 24), (132, 43)])
def test_snapshot(mode: MapMode, size: tuple[int, int]) -> None:
    rendered = scene(mode, *size)
    assert len(rendered.lines) == size[1] and all(len(line) == size[0] for line in rendered.lines)
    path = SNAPSHOTS / f"{mode}-{size[0]}x{size[1]}.txt"
    text = rendered.text + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), (
        f"missing snapshot {path.name}: run with TUI_CRM_UPDATE_SNAPSHOTS=1 and review it"
    )
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", MAP_MODES)
def test_every_pin_is_drawn_and_labels_are_accounted_for(mode: MapMode) -> None:
    rendered = scene(mode, 80, 24)
    assert rendered.off_map == 0
    assert len(rendered.pin_cells) == len(NAMES)
    placed = label_spans(rendered)
    assert len(placed) + rendered.dropped_labels == len(NAMES)
    assert len(placed) >= 4
    col, row = rendered.pin_cells["account:4"]
    assert rendered.lines[row][col] in "5+"
    assert StyleSpan(row, col, col + 1, "pin.highlight") in rendered.spans
    assert any(s.style == "label.highlight" for s in placed)  # highlighted label goes first
    if mode == "ascii":  # every glyph the renderer chose is ASCII; labels are the data's own text
        in_labels = {(s.row, c) for s in placed for c in range(s.start, s.end)}
        drawn = [
            ch
            for r, line in enumerate(rendered.lines)
            for c, ch in enumerate(line)
            if (r, c) not in in_labels
        ]
        assert "".join(drawn).isascii()


def test_geometry_east_is_right_and_north_is_up_with_cell_aspect() -> None:
    mpc = 10.0
    east = unproject(*CENTRE, 10 * mpc + 1, 0)
    north = unproject(*CENTRE, 0, 5 * mpc * 2.0 + 1)
    pins = [MapPin("e", *east, "E"), MapPin("n", *north, "N")]
    rendered = render_map(MapView(*CENTRE, mpc, 41, 21, "ascii"), pins)
    assert rendered.pin_cells["e"] == (20 + 10, 10)
    assert rendered.pin_cells["n"] == (20, 10 - 5)
    assert rendered.lines[10][30] == "E"


def test_pins_outside_are_counted_and_a_shared_cell_shows_a_plus() -> None:
    near = WGS84.Direct(*CENTRE, 45, 30)
    pins = [
        MapPin("a", near["lat2"], near["lon2"], "1", "Alpha", rank=0),
        MapPin("b", near["lat2"], near["lon2"], "2", "Beta", rank=1),
        MapPin("far", 0.0, 0.0, "3", "Far", rank=2),
    ]
    rendered = render_map(MapView(*CENTRE, 50.0, 40, 12, "blocks"), pins)
    assert rendered.off_map == 1
    col, row = rendered.pin_cells["a"]
    assert rendered.pin_cells["b"] == (col, row)
    assert rendered.lines[row][col] == "+"
    assert "Alpha" in rendered.lines[row] and "Beta" not in rendered.text
    assert rendered.dropped_labels == 1


def test_device_marker_and_accuracy_ring() -> None:
    view = MapView(*CENTRE, 10.0, 40, 20, "braille")
    rendered = render_map(view, [], DeviceMarker(*CENTRE, accuracy_m=60.0, stale=True))
    assert rendered.lines[10][20] == "@"
    assert StyleSpan(10, 20, 21, "device.stale") in rendered.spans
    ring_cells = {
        (s.row, c) for s in rendered.spans if s.style == "ring" for c in range(s.start, s.end)
    }
    assert ring_cells and all(abs(c - 20) <= 7 and abs(r - 10) <= 4 for r, c in ring_cells)
    tiny_ring = render_map(view, [], DeviceMarker(*CENTRE, accuracy_m=1.0))
    assert not any(s.style == "ring" for s in tiny_ring.spans)


def test_scale_bar_states_its_true_length() -> None:
    rendered = render_map(MapView(*CENTRE, 25.0, 80, 10, "braille"), [])
    bar = rendered.lines[-1].split()[0]
    assert bar.startswith("├") and bar.endswith("┤")
    assert (len(bar) - 1) * 25.0 == rendered.scale_m == 200.0  # fits a quarter of the width
    assert rendered.lines[-1].split()[1:3] == ["200", "m"]
    assert nice_scale_length(1.0, 7) == 5.0 and nice_scale_length(300.0, 10) == 2000.0


def test_braille_dot_numbering_and_other_modes() -> None:
    # bit index = sub_y * 2 + sub_x; Unicode dots 1,2,3,7 left column, 4,5,6,8 right.
    assert cell_glyph("braille", 1 << 0) == "\u2801"
    assert cell_glyph("braille", 1 << 1) == "\u2808"
    assert cell_glyph("braille", 1 << 6) == "\u2840"
    assert cell_glyph("braille", 1 << 7) == "\u2880"
    assert cell_glyph("braille", 0xFF) == "\u28ff"
    assert [cell_glyph("blocks", b) for b in (0, 1, 2, 3)] == [" ", "▀", "▄", "█"]
    assert [cell_glyph("ascii", b) for b in (0, 1, 2, 3)] == [" ", "'", ".", ":"]


def test_degenerate_sizes() -> None:
    assert render_map(MapView(*CENTRE, 10.0, 0, 5), []).lines == ()
    tiny = render_map(MapView(*CENTRE, 10.0, 3, 1, "ascii"), [])
    assert tiny.lines == ("   ",)
    with pytest.raises(ValueError):
        render_map(MapView(*CENTRE, 0.0, 10, 10), [])


def test_projection_round_trip_and_true_distance() -> None:
    x, y = project(*CENTRE, 48.2, 11.6)
    lat, lon = unproject(*CENTRE, x, y)
    assert (lat, lon) == pytest.approx((48.2, 11.6), abs=1e-9)
    assert (x * x + y * y) ** 0.5 == pytest.approx(
        WGS84.Inverse(*CENTRE, 48.2, 11.6)["s12"], rel=1e-12
    )
    assert unproject(0.0, 179.9999, 1000.0, 0.0)[1] < -179.99  # wraps, never > 180


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-45, 45),
            st.integers(-14, 14),
            st.from_regex(r"[a-jXYZ][a-j XYZ]{0,13}", fullmatch=True),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(MAP_MODES),
    st.integers(0, 39),
)
def test_labels_never_overlap_each_other_or_pins(
    cells: list[tuple[int, int, str]], mode: MapMode, highlight: int
) -> None:
    mpc = 20.0
    pins = []
    for i, (dx, dy, label) in enumerate(cells):
        lat, lon = unproject(*CENTRE, (dx + 0.5) * mpc, (dy - 0.5) * mpc * 2)
        pins.append(MapPin(f"p{i}", lat, lon, "x", label, rank=i, highlighted=i == highlight))
    rendered = render_map(MapView(*CENTRE, mpc, 80, 24, mode), pins)
    pin_cells = set(rendered.pin_cells.values())
    occupied: set[tuple[int, int]] = set()
    spans = label_spans(rendered)
    for span in spans:
        covered = {(c, span.row) for c in range(span.start, span.end)}
        widened = {(c, span.row) for c in range(span.start - 1, span.end + 1)}
        assert not covered & pin_cells
        assert not widened & occupied, "labels touch or overlap"
        occupied |= covered
    assert len(spans) + rendered.dropped_labels == len(rendered.pin_cells)
    assert len(spans) <= len(pin_cells)


def cell_at(mpc: float, width: int, height: int, col: int, row: int) -> tuple[float, float]:
    """The (lat, lon) drawn in the middle of cell (col, row) of a view around CENTRE."""
    east = (col + 0.5 - width / 2) * mpc
    north = (height / 2 - row - 0.5) * mpc * 2.0
    return unproject(*CENTRE, east, north)


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text(min_size=0, max_size=14), min_size=1, max_size=12),
    mode=st.sampled_from(MAP_MODES),
    width=st.integers(min_value=1, max_value=50),
    height=st.integers(min_value=1, max_value=14),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_every_line_is_exactly_width_cells_whatever_the_names(
    names: list[str], mode: MapMode, width: int, height: int, seed: int
) -> None:
    """Arbitrary unicode (wide CJK, emoji, combining, controls, ESC): lines stay `width` cells."""
    import random

    rng = random.Random(seed)
    mpc = 20.0
    extra = ["東京営業所本社", "\x1b]0;pwn\x07X", "a\u200db\u202ec", "e\u0301\u0301", "👩‍👩‍👧x"]
    pins = [
        MapPin(
            f"k{i}",
            *cell_at(mpc, width, height, rng.randrange(width), rng.randrange(height)),
            "123456789"[i % 9],
            name,
            rank=i,
            highlighted=i == 0,
        )
        for i, name in enumerate([*names, *extra])
    ]
    rendered = render_map(
        MapView(*CENTRE, mpc, width, height, mode, range_ring_m=150.0),
        pins,
        DeviceMarker(*CENTRE, 40.0),
    )
    assert len(rendered.lines) == height
    for line in rendered.lines:
        assert cell_len(line) == width, (line, names)
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in line), repr(line)
    for span in rendered.spans:
        assert 0 <= span.start < span.end <= width
        at = cell_index(rendered.lines[span.row])
        assert len(at) == width + 1  # spans map back to string slices


def test_wide_labels_are_measured_in_cells() -> None:
    mpc, width, height = 20.0, 40, 10
    pins = [
        MapPin("a", *cell_at(mpc, width, height, 5, 4), "1", "東京営業所本社", rank=0),
        MapPin("b", *cell_at(mpc, width, height, 30, 6), "2", "大阪支店", rank=1),
    ]
    rendered = render_map(MapView(*CENTRE, mpc, width, height, "braille"), pins)
    assert [cell_len(line) for line in rendered.lines] == [width] * height
    assert "東京営業…" in rendered.lines[4]  # 8 cells of CJK + the cut mark = 9 <= 10
    assert "大阪支店" in rendered.lines[6]
    label = next(s for s in rendered.spans if s.row == 4 and s.style == "label")
    assert label.end - label.start == cells_of("東京営業…") == 9
    assert short_label("東京営業所本社", "ascii") == "東京営業~"
    fullwidth = "".join(chr(0xFF41 + i % 26) for i in range(12))  # fullwidth a, b, c ...
    assert cells_of(short_label(fullwidth, "braille")) <= LABEL_MAX


def test_control_characters_never_reach_the_grid() -> None:
    mpc = 20.0
    pins = [MapPin("a", *cell_at(mpc, 40, 10, 4, 4), "\x1b", "\x1b]0;pwn\x07X\u202eY", rank=0)]
    rendered = render_map(MapView(*CENTRE, mpc, 40, 10, "ascii"), pins)
    assert not any(c in rendered.text for c in "\x1b\x07\u202e")
    assert "]0;pwnXY" in rendered.lines[4]
    assert rendered.lines[4][4] == "*"  # an unprintable marker becomes the default pin
    assert printable("a\tb\n\rc\x00d") == "a b cd"


def test_pins_never_cover_the_north_marker_or_scale_bar() -> None:
    mpc, width, height = 20.0, 40, 10
    pins = [
        MapPin("n", *cell_at(mpc, width, height, width - 1, 0), "7", rank=0),
        MapPin("up", *cell_at(mpc, width, height, width - 1, 1), "8", rank=1),
        MapPin("bar", *cell_at(mpc, width, height, 0, height - 1), "9", rank=2),
        MapPin("text", *cell_at(mpc, width, height, 8, height - 1), "6", rank=3),
        MapPin("free", *cell_at(mpc, width, height, 20, 2), "5", rank=4),
    ]
    for mode in MAP_MODES:
        rendered = render_map(MapView(*CENTRE, mpc, width, height, mode), pins)
        assert rendered.lines[0][-1] == "N"
        assert rendered.lines[1][-1] in "^↑"
        assert rendered.lines[-1].startswith(("|----| 100 m", "├────┤ 100 m"))
        assert rendered.hidden_pins == 4 and set(rendered.pin_cells) == {"free"}


def test_the_device_marker_wins_its_cell_over_a_pin() -> None:
    rendered = render_map(
        MapView(*CENTRE, 20.0, 40, 10, "ascii"),
        [MapPin("d", *CENTRE, "1", "Here", rank=0, highlighted=True)],
        DeviceMarker(*CENTRE, 30.0),
    )
    assert rendered.lines[5][20] == "@"
    assert StyleSpan(5, 20, 21, "device") in rendered.spans
    assert rendered.hidden_pins == 1 and rendered.lines[5].strip(" .:'") == "@"
