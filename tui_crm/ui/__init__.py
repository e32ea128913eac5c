"""ui layer (see docs/contracts.md)."""
