"""tui-crm: an offline-first, encrypted terminal client for field CRM work."""

__version__ = "0.1.0"
