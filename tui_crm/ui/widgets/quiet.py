"""Inputs without a blinking cursor: blinking costs a redraw twice a second over SSH."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Input, TextArea


class QuietInput(Input):
    cursor_blink = reactive(False, init=False)


class QuietTextArea(TextArea):
    cursor_blink: reactive[bool] = reactive(False, init=False)
