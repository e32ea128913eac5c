"""The three-way merge of one conflict, field by field, as plain data the merge screen draws.

A field only one side changed since the base starts on that side (the usual
three-way rule); a field both sides changed differently starts undecided and
must be chosen before the merge can be saved, so no edit is dropped by a
default the user never saw. Fields all three versions agree on are carried
through untouched and not shown, as are read-only and unknown fields (the
server's value is kept for those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_crm.domain import Conflict, EntityDef

BASE, SERVER, MINE, EDITED, UNDECIDED = "base", "server", "mine", "edited", "undecided"
MARKS = {BASE: "B", SERVER: "S", MINE: "M", EDITED: "E", UNDECIDED: "?"}


@dataclass(slots=True)
class MergeField:
    name: str
    label: str
    base: Any
    server: Any
    mine: Any
    choice: str
    edited: Any = None

    @property
    def result(self) -> Any:
        return {BASE: self.base, SERVER: self.server, MINE: self.mine, EDITED: self.edited}.get(
            self.choice
        )


def _first_choice(base: Any, server: Any, mine: Any) -> str:
    if server == mine or mine == base:
        return SERVER
    if server == base:
        return MINE
    return UNDECIDED


@dataclass(slots=True)
class Merge:
    conflict: Conflict
    fields: list[MergeField] = field(default_factory=list)
    carried: dict[str, Any] = field(default_factory=dict)
    """Values all sides agree on: part of the result, not of the screen."""

    @property
    def field_merge_possible(self) -> bool:
        """Only when both sides still have the record; otherwise it is keep or drop."""
        return self.conflict.server is not None and self.conflict.device is not None

    @classmethod
    def of(cls, entity: EntityDef, conflict: Conflict) -> Merge:
        base = conflict.base or {}
        server = conflict.server or {}
        mine = conflict.device or {}
        merge = cls(conflict)
        known = {f.name for f in entity.fields}
        names = [f.name for f in entity.fields] + sorted(
            (set(base) | set(server) | set(mine)) - known
        )
        for name in names:
            definition = entity.field(name)
            values = (base.get(name), server.get(name), mine.get(name))
            if definition is None or definition.read_only:
                # The server owns these (or the form cannot show them): keep its value.
                kept = values[1] if conflict.server is not None else values[2]
                if kept is not None:
                    merge.carried[name] = kept
                continue
            if values[0] == values[1] == values[2]:
                if values[0] is not None:
                    merge.carried[name] = values[0]
                continue
            merge.fields.append(MergeField(name, definition.label, *values, _first_choice(*values)))
        return merge

    def choose(self, index: int, choice: str, value: Any = None) -> None:
        target = self.fields[index]
        target.choice = choice
        if choice == EDITED:
            target.edited = value

    def choose_all(self, choice: str) -> None:
        for target in self.fields:
            target.choice = choice

    def undecided(self) -> list[str]:
        return [f.label for f in self.fields if f.choice == UNDECIDED]

    def result(self) -> dict[str, Any]:
        """The whole merged record: what `resolve(..., "merged", merged=...)` takes."""
        values = dict(self.carried)
        for merged in self.fields:
            if merged.result is not None:
                values[merged.name] = merged.result
            else:
                values.pop(merged.name, None)
        return values
