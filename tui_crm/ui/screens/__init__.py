"""One module per screen; see docs/ui.md for how to add one."""
