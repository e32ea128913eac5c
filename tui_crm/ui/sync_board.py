"""What the Sync status screen shows about a run, computed from the engine's progress steps.

Kept apart from the widgets so the arithmetic (which entity is finished, how
much is left, how long it may take) is plain code tested without a terminal.
An entity's expected total is what the server said at the start of a first
pull (the engine's `expected`, from the server's record count), else what the
store held when the run started; the bar never ends short of what arrived,
and an entity is finished once the run moved past it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tui_crm.services.sync import Progress

WAITING, PUSHING, PULLING, DONE = "waiting", "pushing", "pulling", "done"


@dataclass(slots=True)
class EntityLine:
    name: str
    label: str
    expected: int
    """The server's count for a first pull, else what the store held at the start."""
    done: int = 0
    pushed: int = 0
    state: str = WAITING

    @property
    def total(self) -> int:
        """Bar length: never shorter than what already arrived, full once done."""
        if self.state == DONE:
            return max(self.done, 1)
        return max(self.expected, self.done, 1)

    @property
    def fraction(self) -> float:
        return 1.0 if self.state == DONE else min(1.0, self.done / self.total)


@dataclass(slots=True)
class SyncBoard:
    lines: dict[str, EntityLine] = field(default_factory=dict)
    requests: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    errors: int = 0
    seconds: float = 0.0
    running: bool = False
    outcome: str = ""
    """'' while running or before; then a one-line result ('done', 'cancelled', an error)."""

    @classmethod
    def start(cls, entities: Iterable[tuple[str, str]], counts: Mapping[str, int]) -> SyncBoard:
        """`entities` is (name, label) in the order the engine pulls them."""
        lines = {name: EntityLine(name, label, counts.get(name, 0)) for name, label in entities}
        return cls(lines=lines, running=True)

    def update(self, step: Progress) -> None:
        self.requests = step.requests
        self.bytes_received = step.bytes_received
        self.bytes_sent = step.bytes_sent
        self.errors = step.errors
        self.seconds = step.seconds
        line = self.lines.get(step.entity)
        if line is None:
            return
        if step.phase == "push":
            line.pushed = max(line.pushed, step.done)
            if line.state == WAITING:
                line.state = PUSHING
            return
        # Pulls go entity by entity: a pull step of this one closes every earlier one.
        for other in self.lines.values():
            if other is line:
                break
            if other.state in (WAITING, PUSHING, PULLING):
                other.state = DONE
        line.state = PULLING
        line.done = step.done
        if step.expected is not None:
            line.expected = step.expected

    def finish(self, outcome: str, summary: Mapping[str, object] | None = None) -> None:
        self.running = False
        self.outcome = outcome
        if outcome == "done":
            for line in self.lines.values():
                line.state = DONE
        if summary:
            self.requests = _int(summary.get("requests"), self.requests)
            self.bytes_received = _int(summary.get("bytes_received"), self.bytes_received)
            self.bytes_sent = _int(summary.get("bytes_sent"), self.bytes_sent)
            self.errors = _int(summary.get("errors"), self.errors)
            seconds = summary.get("seconds")
            if isinstance(seconds, int | float):
                self.seconds = float(seconds)

    @property
    def fraction(self) -> float:
        """Share of the run behind us: each entity weighs the same (pages dominate)."""
        if not self.lines:
            return 1.0 if not self.running else 0.0
        return sum(line.fraction for line in self.lines.values()) / len(self.lines)

    @property
    def records_moved(self) -> int:
        return sum(line.done + line.pushed for line in self.lines.values())

    def remaining_seconds(self) -> float | None:
        """Elapsed time scaled by what is left; None until there is something to scale."""
        if not self.running:
            return 0.0
        fraction = self.fraction
        if fraction <= 0.0 or self.seconds <= 0.0:
            return None
        return self.seconds * (1.0 - fraction) / fraction


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def human_bytes(count: int) -> str:
    """1234567 -> '1.2 MB': short enough for an 80-column status line."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - loop always returns


def human_seconds(seconds: float | None) -> str:
    """'-' when unknown, else m:ss (or h:mm:ss)."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
