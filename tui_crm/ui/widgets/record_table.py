"""A record table fed page by page: columns from the EntityDef, a state glyph first.

Column widths are fixed when the table is built, so appending a page never
re-measures the rows already there (that keeps scrolling cheap at any size).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui_crm.domain import EntityDef, Record
from tui_crm.domain.values import format_value
from tui_crm.ui.glyphs import glyph_for

STATE_COLUMN = "_state"
FIRST_COLUMN_WIDTH = 26
MIN_COLUMN_WIDTH = 10


def column_widths(count: int, total_width: int) -> list[int]:
    """Widths for `count` data columns so the table fits `total_width` cells.

    Each column costs its width plus 2 padding cells; the state glyph column
    (3 cells) and the scrollbar (2) come off first. The first column (the
    record's name) gets more room because it is what people scan for.
    """
    if count <= 0:
        return []
    usable = max(count * (MIN_COLUMN_WIDTH + 2), total_width - 3 - 2) - count * 2
    if count == 1:
        return [usable]
    first = min(FIRST_COLUMN_WIDTH, usable - (count - 1) * MIN_COLUMN_WIDTH)
    rest = max(MIN_COLUMN_WIDTH, (usable - first) // (count - 1))
    return [first, *([rest] * (count - 1))]


class RecordTable(DataTable[str | Text]):
    """DataTable of records keyed by record id."""

    def __init__(self, entity_def: EntityDef, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.entity_def = entity_def
        self._columns = [
            name for name in entity_def.columns if entity_def.field(name) is not None
        ] or [entity_def.primary_name]
        self._widths: list[int] = []

    @property
    def field_names(self) -> list[str]:
        return list(self._columns)

    def build_columns(self, total_width: int) -> None:
        self.clear(columns=True)
        self._widths = column_widths(len(self._columns), total_width)
        self.add_column(" ", width=1, key=STATE_COLUMN)
        for name, width in zip(self._columns, self._widths, strict=True):
            field = self.entity_def.field(name)
            label = field.label if field is not None else name
            self.add_column(label[:width], width=width, key=name)

    def append_records(self, records: list[Record]) -> None:
        for record in records:
            cells: list[str | Text] = [glyph_for(record.state)]
            for name, width in zip(self._columns, self._widths, strict=True):
                field = self.entity_def.field(name)
                value = record.fields.get(name)
                text = "" if field is None or value is None else format_value(field, value)
                if name == self.entity_def.primary_name and not text:
                    text = record.name
                cells.append(Text(_fit(text, width)))  # record data, never markup
            if record.id not in self.rows:
                self.add_row(*cells, key=record.id)


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
