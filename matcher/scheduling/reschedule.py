"""Rescheduling: apply changes to a confirmed schedule, keep every untouched meeting where it is, re-solve
only what is free, and report what moved.

``changes.json``::

    {"cancellations": [{"startup_id": "S1", "investor_id": "I2"}],
     "late_arrivals": [{"participant_id": "I3", "available": ["s04", "s05"]}],
     "no_shows": ["S9"],
     "must": [{"startup_id": "S4", "investor_id": "I1"}]}

A cancelled pair becomes a conflict; a late arrival replaces that participant's availability (its meetings
in slots it no longer has are free to move); a no-show loses every meeting and its minimum; a new must
request is hard. Every other confirmed meeting is fixed to its slot and table. The re-plan keeps the mode
the schedule was made in, and its ``moves`` list every meeting that moved, was added or was dropped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from matcher.errors import InvalidInputError
from matcher.scheduling.encoder import DEFAULT_MODE, MODES, Mode
from matcher.scheduling.grid import Progress, solve
from matcher.scheduling.problem import EventProblem, Pair, Participant
from matcher.scheduling.schedule import CHANGE_KINDS, Meeting, Move, Schedule
from matcher.scheduling.tables import MEETINGS_COLUMNS
from matcher.spreadsheet import read_cell


@dataclass(frozen=True, slots=True)
class Changes:
    cancellations: frozenset[Pair] = frozenset()
    availability: Mapping[str, tuple[str, ...]] | None = None
    no_shows: frozenset[str] = frozenset()
    must: frozenset[Pair] = frozenset()


def load_changes(path: Path, problem: EventProblem) -> Changes:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc.msg}", field="changes") from None
    return parse_changes(raw, problem)


def parse_changes(raw: Any, problem: EventProblem) -> Changes:
    if not isinstance(raw, Mapping):
        raise InvalidInputError("changes must be a JSON object", field="changes")
    unknown = sorted(set(raw) - {"cancellations", "late_arrivals", "no_shows", "must"})
    if unknown:
        raise InvalidInputError(f"unknown key {unknown[0]!r}", field="changes")
    startups = {p.participant_id for p in problem.startups}
    investors = {p.participant_id for p in problem.investors}
    slots = set(problem.slot_ids)

    def items(key: str) -> list[Any]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            raise InvalidInputError("must be a list", field=f"changes.{key}")
        return value

    def pair(item: Any, where: str) -> Pair:
        if not isinstance(item, Mapping):
            raise InvalidInputError("must be an object", field=where)
        s, i = item.get("startup_id"), item.get("investor_id")
        if s not in startups:
            raise InvalidInputError(f"unknown startup {s!r}", field=f"{where}.startup_id")
        if i not in investors:
            raise InvalidInputError(f"unknown investor {i!r}", field=f"{where}.investor_id")
        return (str(s), str(i))

    availability: dict[str, tuple[str, ...]] = {}
    for k, item in enumerate(items("late_arrivals")):
        where = f"changes.late_arrivals[{k}]"
        pid = item.get("participant_id") if isinstance(item, Mapping) else None
        if pid not in startups and pid not in investors:
            raise InvalidInputError(f"unknown participant {pid!r}", field=f"{where}.participant_id")
        available = item.get("available")
        if not isinstance(available, list) or any(s not in slots for s in available):
            raise InvalidInputError("available must list known slot ids", field=f"{where}.available")
        wanted = set(available)
        availability[str(pid)] = tuple(s for s in problem.slot_ids if s in wanted)
    no_shows = items("no_shows")
    for k, pid in enumerate(no_shows):
        if pid not in startups and pid not in investors:
            raise InvalidInputError(f"unknown participant {pid!r}", field=f"changes.no_shows[{k}]")
    return Changes(
        cancellations=frozenset(pair(x, f"changes.cancellations[{k}]") for k, x in enumerate(items("cancellations"))),
        availability=availability,
        no_shows=frozenset(str(p) for p in no_shows),
        must=frozenset(pair(x, f"changes.must[{k}]") for k, x in enumerate(items("must"))),
    )


def read_meetings_csv(path: Path) -> tuple[Meeting, ...]:
    """Read a ``meetings.csv`` written by :func:`matcher.scheduling.write_exports` (ids taken as written,
    a formula-neutralising quote removed)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in MEETINGS_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInputError(f"{path}: missing column {missing[0]}", field="reschedule")
        out: list[Meeting] = []
        for row_no, row in enumerate(reader, start=2):
            try:
                out.append(
                    Meeting(
                        read_cell(row["slot_id"]),
                        int(row["table"]),
                        read_cell(row["startup_id"]),
                        read_cell(row["investor_id"]),
                        float(row["score"]),
                    )
                )
            except ValueError:
                raise InvalidInputError(
                    f"{path}, row {row_no}: table or score is not a number", field="reschedule"
                ) from None
    return tuple(out)


def load_current(path: Path) -> Schedule | tuple[Meeting, ...]:
    """The confirmed schedule to re-plan: a ``schedule.json`` (mode and all), or a ``meetings.csv`` (which
    takes its mode from the ``schedule.json`` written beside it, when there is one)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return _schedule_document(path)
    meetings = read_meetings_csv(path)
    beside = path.with_name("schedule.json")
    if beside.is_file():
        return replace(_schedule_document(beside), meetings=meetings)
    return meetings


def _schedule_document(path: Path) -> Schedule:
    try:
        return Schedule.from_document(json.loads(path.read_text(encoding="utf-8-sig")))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc.msg}", field="reschedule") from None
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}", field="reschedule") from None


def apply_changes(problem: EventProblem, changes: Changes) -> EventProblem:
    """The event as it stands after ``changes`` (a new object; ``problem`` is not touched)."""
    availability = changes.availability or {}

    def updated(p: Participant) -> Participant:
        if p.participant_id in changes.no_shows:
            return replace(p, available=(), min_meetings=0)
        if p.participant_id in availability:
            return replace(p, available=availability[p.participant_id])
        return p

    must = (problem.must | changes.must) - changes.cancellations
    must = frozenset((s, i) for s, i in must if s not in changes.no_shows and i not in changes.no_shows)
    return replace(
        problem,
        startups=tuple(updated(p) for p in problem.startups),
        investors=tuple(updated(p) for p in problem.investors),
        must=must,
        conflicts=problem.conflicts | changes.cancellations,
    )


def reschedule(
    problem: EventProblem,
    current: Schedule | Sequence[Meeting],
    changes: Changes,
    *,
    mode: Mode | None = None,
    solver: str = "auto",
    time_limit: float = 60.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[EventProblem, Schedule]:
    """Re-solve after ``changes``; returns the changed event and the new schedule (with ``moves``).

    ``mode`` defaults to the mode ``current`` was made in (when it is a :class:`Schedule`)."""
    made_in = current.mode if isinstance(current, Schedule) else DEFAULT_MODE
    chosen: Mode = mode if mode is not None else next((m for m in MODES if m == made_in), DEFAULT_MODE)
    meetings = current.meetings if isinstance(current, Schedule) else tuple(current)
    changed = apply_changes(problem, changes)
    slots_of = {p.participant_id: set(p.available) for p in (*changed.startups, *changed.investors)}
    known = set(changed.slot_ids)
    fixed: dict[Pair, str] = {}
    fixed_tables: dict[Pair, int] = {}
    freed: dict[Pair, str] = {}
    for m in meetings:
        pair = (m.startup_id, m.investor_id)
        if m.slot_id not in known or m.startup_id not in slots_of or m.investor_id not in slots_of:
            raise InvalidInputError(
                f"current meeting {m.startup_id}–{m.investor_id} in {m.slot_id} is not in the event", field="reschedule"
            )
        if pair in changes.cancellations:
            freed[pair] = "cancelled"
        elif m.startup_id in changes.no_shows or m.investor_id in changes.no_shows:
            freed[pair] = "no-show"
        elif m.slot_id not in slots_of[m.startup_id] or m.slot_id not in slots_of[m.investor_id]:
            freed[pair] = "availability changed"
        else:
            fixed[pair] = m.slot_id
            fixed_tables[pair] = m.table

    schedule = solve(
        changed,
        mode=chosen,
        solver=solver,
        time_limit=time_limit,
        seed=seed,
        fixed=fixed,
        fixed_tables=fixed_tables,
        progress=progress,
    )
    moves = diff(meetings, schedule.meetings, freed)
    stats: dict[str, object] = {**schedule.stats, "kept": len(fixed)}
    stats.update({kind: sum(1 for m in moves if m.kind == kind) for kind in CHANGE_KINDS})
    return changed, replace(schedule, moves=moves, rescheduled=True, stats=stats)


def diff(before: Sequence[Meeting], after: Sequence[Meeting], reasons: Mapping[Pair, str]) -> tuple[Move, ...]:
    """Every pair whose meeting moved (slot or table), was added or was dropped between two grids."""
    old = {(m.startup_id, m.investor_id): m for m in before}
    new = {(m.startup_id, m.investor_id): m for m in after}
    moves: list[Move] = []
    for pair in sorted(old.keys() | new.keys()):
        a, b = old.get(pair), new.get(pair)
        if a is not None and b is not None and (a.slot_id, a.table) == (b.slot_id, b.table):
            continue
        reason = reasons.get(pair, "re-planned" if a is not None else "new")
        moves.append(
            Move(
                pair[0],
                pair[1],
                a.slot_id if a else None,
                b.slot_id if b else None,
                reason,
                a.table if a else None,
                b.table if b else None,
            )
        )
    return tuple(moves)
