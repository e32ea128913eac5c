"""Large letters from block characters, for a device code read off a screen across the room.

A 3x5 pixel font drawn with half blocks (two pixel rows per text row), so
each character is 3 columns by 3 rows plus a gap: a 9-character code is 36
columns wide and fits an 80-column terminal. Pure function, no colour
needed (NO_COLOR and 16-colour terminals show it the same).
"""

from __future__ import annotations

# Each glyph: five rows of three pixels, "#" set.
FONT: dict[str, tuple[str, str, str, str, str]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "A": (".#.", "#.#", "###", "#.#", "#.#"),
    "B": ("##.", "#.#", "##.", "#.#", "##."),
    "C": (".##", "#..", "#..", "#..", ".##"),
    "D": ("##.", "#.#", "#.#", "#.#", "##."),
    "E": ("###", "#..", "##.", "#..", "###"),
    "F": ("###", "#..", "##.", "#..", "#.."),
    "G": (".##", "#..", "#.#", "#.#", ".##"),
    "H": ("#.#", "#.#", "###", "#.#", "#.#"),
    "I": ("###", ".#.", ".#.", ".#.", "###"),
    "J": ("..#", "..#", "..#", "#.#", ".#."),
    "K": ("#.#", "#.#", "##.", "#.#", "#.#"),
    "L": ("#..", "#..", "#..", "#..", "###"),
    "M": ("#.#", "###", "###", "#.#", "#.#"),
    "N": ("##.", "#.#", "#.#", "#.#", "#.#"),
    "O": (".#.", "#.#", "#.#", "#.#", ".#."),
    "P": ("##.", "#.#", "##.", "#..", "#.."),
    "Q": (".#.", "#.#", "#.#", "##.", ".##"),
    "R": ("##.", "#.#", "##.", "#.#", "#.#"),
    "S": (".##", "#..", ".#.", "..#", "##."),
    "T": ("###", ".#.", ".#.", ".#.", ".#."),
    "U": ("#.#", "#.#", "#.#", "#.#", "###"),
    "V": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "W": ("#.#", "#.#", "###", "###", "#.#"),
    "X": ("#.#", "#.#", ".#.", "#.#", "#.#"),
    "Y": ("#.#", "#.#", ".#.", ".#.", ".#."),
    "Z": ("###", "..#", ".#.", "#..", "###"),
    "-": ("...", "...", "###", "...", "..."),
    " ": ("...", "...", "...", "...", "..."),
}

_HALF = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def big_text(text: str, gap: int = 1) -> list[str]:
    """Three lines drawing `text` large; characters outside the font are drawn as blanks."""
    glyphs = [FONT.get(char.upper(), FONT[" "]) for char in text]
    pixel_rows = [
        (" " * gap).join(glyph[row] for glyph in glyphs).replace(" ", ".") for row in range(5)
    ]
    pixel_rows.append("." * len(pixel_rows[0]))  # pad to an even number of pixel rows
    lines = []
    for top, bottom in zip(pixel_rows[0::2], pixel_rows[1::2], strict=True):
        lines.append("".join(_HALF[(a == "#", b == "#")] for a, b in zip(top, bottom, strict=True)))
    return lines
