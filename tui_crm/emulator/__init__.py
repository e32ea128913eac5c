"""emulator layer (see docs/contracts.md)."""
