"""connectors layer (see docs/contracts.md)."""
