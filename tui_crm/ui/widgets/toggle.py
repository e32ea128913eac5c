"""A checkbox whose state reads without colour.

Textual's Checkbox draws the same "X" whether on or off and shows the state
only by colour, which vanishes under NO_COLOR and is hard to tell apart in 16
colours. This one draws "X" or a blank and says "on"/"off" (or given words).
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.style import Style
from textual.widgets import Checkbox


class StateCheckbox(Checkbox):
    def __init__(
        self, value: bool = False, *, on_label: str = "on", off_label: str = "off", **kwargs: Any
    ) -> None:
        # Both words padded to one width so toggling never reflows the row.
        width = max(len(on_label), len(off_label))
        self._state_labels = (off_label.ljust(width), on_label.ljust(width))
        super().__init__(self._state_labels[bool(value)], value, **kwargs)

    def watch_value(self) -> None:
        super().watch_value()
        self.label = self._state_labels[bool(self.value)]

    @property
    def _button(self) -> Content:
        """Textual's own button, with the inner mark showing the state."""
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background, background=self.background_colors[1])
        return Content.assemble(
            (self.BUTTON_LEFT, side_style),
            (self.BUTTON_INNER if self.value else " ", button_style),
            (self.BUTTON_RIGHT, side_style),
        )
