"""sync layer (see docs/contracts.md)."""
