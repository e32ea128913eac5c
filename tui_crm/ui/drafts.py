"""Unsaved form input kept in memory across an auto-lock.

Only the raw editor contents are kept, in this process's memory, never on
disk: the point of locking is that nothing readable outlives the key, and a
draft typed by the user is restored only after the password is given again.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FormDraft:
    entity: str
    record_id: str | None
    """None for a record being created."""
    raw: dict[str, object] = field(default_factory=dict)
    """Field name -> the editor's raw state (text, bool, picklist value, lookup)."""
