"""The answer: meetings laid on slots and tables, with the solver's bound and how it was obtained."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, order=True)
class Meeting:
    slot_id: str
    table: int
    startup_id: str
    investor_id: str
    score: float


@dataclass(frozen=True, slots=True)
class Move:
    """A meeting that rescheduling moved to another slot (``new_slot_id`` None: it could not be kept)."""

    startup_id: str
    investor_id: str
    old_slot_id: str
    new_slot_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """A solved meeting grid. ``objective`` is recomputed from ``meetings`` (score + wish bonuses)."""

    event_id: str
    meetings: tuple[Meeting, ...]
    objective: float
    upper_bound: float
    status: str
    solver: str
    mode: str
    seconds: float
    moves: tuple[Move, ...] = ()
    rescheduled: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative distance to the bound: (bound − objective) / |bound|, 0 when proven optimal."""
        if self.upper_bound <= self.objective:
            return 0.0
        return (self.upper_bound - self.objective) / max(abs(self.upper_bound), 1e-9)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "status": self.status,
            "solver": self.solver,
            "mode": self.mode,
            "objective": round(self.objective, 6),
            "upper_bound": round(self.upper_bound, 6),
            "gap": round(self.gap, 6),
            "meetings": len(self.meetings),
            "seconds": round(self.seconds, 3),
        }
        out.update(self.stats)
        if self.rescheduled:
            out["moved"] = [
                {
                    "startup_id": m.startup_id,
                    "investor_id": m.investor_id,
                    "from": m.old_slot_id,
                    "to": m.new_slot_id,
                    "reason": m.reason,
                }
                for m in self.moves
            ]
        return out

    def to_dict(self) -> dict[str, Any]:
        """The summary plus every meeting, JSON-ready (what the API returns)."""
        return {**self.summary(), "meeting_list": [asdict(m) for m in self.meetings]}
