"""Widgets shared by the screens: field editors, the paged record table."""
