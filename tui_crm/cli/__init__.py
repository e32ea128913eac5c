"""cli layer (see docs/contracts.md)."""
