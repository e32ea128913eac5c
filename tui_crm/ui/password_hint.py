"""Password rules shown while the user chooses one.

The minimum length matches the CLI's `init` rule so both front doors accept
the same passwords; the hint is advice only, the KDF is what protects the key.
"""

from __future__ import annotations

MIN_PASSWORD_LENGTH = 8


def password_problem(first: str, second: str) -> str | None:
    """Why the two typed passwords cannot be used, or None if they can."""
    if len(first) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    if first != second:
        return "the two passwords differ"
    return None


def strength_hint(password: str) -> str:
    """A rough strength word from length and character variety (no dictionary checks)."""
    if not password:
        return ""
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    score = len(password) // 4 + classes
    if len(password) < MIN_PASSWORD_LENGTH or score < 4:
        return "strength: weak"
    if score < 6:
        return "strength: fair"
    return "strength: strong"
