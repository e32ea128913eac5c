"""Inputs without a blinking cursor: blinking costs a redraw twice a second over SSH.

Nor do they select their whole text on focus (Textual's default): in a form
the first key typed would replace the value ("Contoso Pharma" -> "X").
"""

from __future__ import annotations

from typing import Any

from textual.reactive import reactive
from textual.widgets import Input, TextArea


class QuietInput(Input):
    cursor_blink = reactive(False, init=False)

    def __init__(self, *args: Any, select_on_focus: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, select_on_focus=select_on_focus, **kwargs)


class QuietTextArea(TextArea):
    cursor_blink: reactive[bool] = reactive(False, init=False)
