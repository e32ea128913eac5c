"""Record-state glyphs: the state must read without colour (NO_COLOR, 16-colour terminals)."""

from __future__ import annotations

from tui_crm.domain import RecordState

STATE_GLYPHS: dict[RecordState, str] = {
    RecordState.SYNCED: " ",
    RecordState.CREATED: "+",
    RecordState.UPDATED: "~",
    RecordState.DELETED: "-",
    RecordState.CONFLICT: "!",
    RecordState.ERROR: "x",
}

STATE_NAMES: dict[RecordState, str] = {
    RecordState.SYNCED: "synced",
    RecordState.CREATED: "new",
    RecordState.UPDATED: "edited",
    RecordState.DELETED: "deleted",
    RecordState.CONFLICT: "conflict",
    RecordState.ERROR: "sync error",
}


def glyph_for(state: RecordState) -> str:
    return STATE_GLYPHS.get(state, "?")


def legend() -> str:
    """One line explaining the glyphs, shown in help and under lists."""
    return "  ".join(
        f"{STATE_GLYPHS[state]}={STATE_NAMES[state]}"
        for state in STATE_GLYPHS
        if state is not RecordState.SYNCED
    )
