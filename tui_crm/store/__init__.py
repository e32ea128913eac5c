"""store layer (see docs/contracts.md)."""
