"""services layer (see docs/contracts.md)."""
