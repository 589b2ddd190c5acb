"""The answer: meetings laid on slots and tables, with the solver's bound and how it was obtained.

A :class:`Schedule` is also what is stored: :meth:`Schedule.to_document` gives a JSON-ready document and
:meth:`Schedule.from_document` reads it back unchanged (stats and re-plan changes included), so the service
keeps the library's own shape instead of a summary rebuilt field by field.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from matcher.errors import InvalidInputError

if TYPE_CHECKING:
    from matcher.scheduling.problem import EventProblem

ChangeKind = Literal["moved", "added", "dropped"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("moved", "added", "dropped")


@dataclass(frozen=True, slots=True, order=True)
class Meeting:
    slot_id: str
    table: int
    startup_id: str
    investor_id: str
    score: float


@dataclass(frozen=True, slots=True)
class Move:
    """What a re-plan changed for one pair: ``moved`` (another slot or table), ``added`` (a new meeting,
    no old slot) or ``dropped`` (it could not be kept, no new slot); ``reason`` says why it was free."""

    startup_id: str
    investor_id: str
    old_slot_id: str | None
    new_slot_id: str | None
    reason: str
    old_table: int | None = None
    new_table: int | None = None

    @property
    def kind(self) -> ChangeKind:
        if self.old_slot_id is None:
            return "added"
        if self.new_slot_id is None:
            return "dropped"
        return "moved"


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

    def changes(self, kind: ChangeKind) -> tuple[Move, ...]:
        return tuple(m for m in self.moves if m.kind == kind)

    def only(self, participant_id: str) -> Schedule:
        """The same schedule reduced to one participant's meetings and changes (an agenda)."""
        return Schedule(
            event_id=self.event_id,
            meetings=tuple(m for m in self.meetings if participant_id in (m.startup_id, m.investor_id)),
            objective=self.objective,
            upper_bound=self.upper_bound,
            status=self.status,
            solver=self.solver,
            mode=self.mode,
            seconds=self.seconds,
            moves=tuple(m for m in self.moves if participant_id in (m.startup_id, m.investor_id)),
            rescheduled=self.rescheduled,
            stats=self.stats,
        )

    def summary(self, problem: EventProblem | None = None) -> dict[str, Any]:
        """What the organiser reads: the figures, the spread of meetings per startup and, after a re-plan,
        every moved, added and dropped meeting (with names and times when ``problem`` is given)."""
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
            slots = {s.slot_id: s for s in problem.slots} if problem is not None else {}

            def at(slot_id: str | None, table: int | None) -> dict[str, Any] | None:
                if slot_id is None:
                    return None
                where: dict[str, Any] = {"slot_id": slot_id, "table": table}
                if slot_id in slots:
                    where["start"] = slots[slot_id].start.isoformat(timespec="minutes")
                return where

            for kind in CHANGE_KINDS:
                items = []
                for m in self.changes(kind):
                    item: dict[str, Any] = {"startup_id": m.startup_id, "investor_id": m.investor_id}
                    if problem is not None:
                        item["startup_name"] = problem.label_of(m.startup_id)
                        item["investor_name"] = problem.label_of(m.investor_id)
                    item.update({"from": at(m.old_slot_id, m.old_table), "to": at(m.new_slot_id, m.new_table),
                                 "reason": m.reason})
                    items.append(item)
                out[kind] = items
        return out

    def to_document(self) -> dict[str, Any]:
        """The whole schedule as JSON-ready data (what the service stores); see :meth:`from_document`."""
        return {
            "event_id": self.event_id,
            "status": self.status,
            "solver": self.solver,
            "mode": self.mode,
            "objective": self.objective,
            "upper_bound": self.upper_bound,
            "seconds": self.seconds,
            "rescheduled": self.rescheduled,
            "stats": dict(self.stats),
            "meetings": [asdict(m) for m in self.meetings],
            "moves": [asdict(m) for m in self.moves],
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Schedule:
        try:
            return cls(
                event_id=str(doc["event_id"]),
                meetings=tuple(Meeting(**m) for m in doc["meetings"]),
                objective=float(doc["objective"]),
                upper_bound=float(doc["upper_bound"]),
                status=str(doc["status"]),
                solver=str(doc["solver"]),
                mode=str(doc["mode"]),
                seconds=float(doc["seconds"]),
                moves=tuple(Move(**m) for m in doc.get("moves", ())),
                rescheduled=bool(doc.get("rescheduled", False)),
                stats=dict(doc.get("stats", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"not a schedule document ({exc})", field="schedule") from None


def meetings_per_startup(problem: EventProblem, meetings: Sequence[Meeting]) -> dict[str, int]:
    """Every startup of the event with its number of meetings (0 included), in the event's order."""
    counts = {p.participant_id: 0 for p in problem.startups}
    for m in meetings:
        counts[m.startup_id] = counts.get(m.startup_id, 0) + 1
    return counts


def spread(problem: EventProblem, meetings: Sequence[Meeting]) -> dict[str, float]:
    """Fewest, median and most meetings per startup, over the startups that can attend at all (a no-show
    or a startup with no free slot is not a startup the schedule failed)."""
    counts = meetings_per_startup(problem, meetings)
    present = [counts[p.participant_id] for p in problem.startups if p.available]
    if not present:
        return {"fewest": 0, "median": 0, "most": 0}
    return {"fewest": min(present), "median": statistics.median(present), "most": max(present)}
