"""geo layer (see docs/contracts.md)."""
