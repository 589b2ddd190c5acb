"""An independent check of a schedule against every rule of the contract.

Written from the contract, not from the solver: it reads only the :class:`EventProblem` records and the
meetings (plain Python, no encoder arrays) and recomputes the objective itself, so a solver bug cannot
vouch for itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from matcher.scheduling.problem import EventProblem, Pair
from matcher.scheduling.schedule import Meeting

SCORE_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Verification:
    violations: tuple[str, ...]
    objective: float
    total_score: float
    wishes_met: int

    @property
    def valid(self) -> bool:
        return not self.violations


def objective_of(problem: EventProblem, meetings: Iterable[Meeting]) -> float:
    """Total score of the meetings held plus the wish bonus for each wish met."""
    return sum(problem.scores.get((m.startup_id, m.investor_id), 0.0) for m in meetings) + problem.wish_bonus * sum(
        1 for m in meetings if (m.startup_id, m.investor_id) in problem.wish
    )


def verify(
    problem: EventProblem, meetings: Iterable[Meeting], *, fixed: Mapping[Pair, str] | None = None
) -> Verification:
    """Every violated rule, as a sentence naming the participants; empty when the schedule is valid.

    ``fixed`` (rescheduling) maps confirmed pairs to the slot they must still be in.
    """
    meetings = list(meetings)
    problems: list[str] = []
    slots = set(problem.slot_ids)
    startups = {p.participant_id: p for p in problem.startups}
    investors = {p.participant_id: p for p in problem.investors}

    for m in meetings:
        pair = (m.startup_id, m.investor_id)
        who = f"{m.startup_id}–{m.investor_id} in {m.slot_id}"
        if m.slot_id not in slots:
            problems.append(f"{who}: unknown slot")
        if m.startup_id not in startups or m.investor_id not in investors:
            problems.append(f"{who}: unknown participant")
            continue
        if pair in problem.conflicts:
            problems.append(f"{who}: the pair is a conflict")
        if pair not in problem.scores:
            problems.append(f"{who}: the pair has no score")
        elif abs(problem.scores[pair] - m.score) > SCORE_TOLERANCE:
            problems.append(f"{who}: score {m.score} differs from the event's {problem.scores[pair]}")
        if m.slot_id not in startups[m.startup_id].available:
            problems.append(f"{who}: {m.startup_id} is not available")
        if m.slot_id not in investors[m.investor_id].available:
            problems.append(f"{who}: {m.investor_id} is not available")
        if not 1 <= m.table <= problem.tables:
            problems.append(f"{who}: table {m.table} is outside 1..{problem.tables}")

    for pair, n in Counter((m.startup_id, m.investor_id) for m in meetings).items():
        if n > 1:
            problems.append(f"{pair[0]}–{pair[1]} meet {n} times")
    for (sid, slot), n in Counter((m.startup_id, m.slot_id) for m in meetings).items():
        if n > 1:
            problems.append(f"{sid} has {n} meetings in {slot}")
    for (iid, slot), n in Counter((m.investor_id, m.slot_id) for m in meetings).items():
        if n > 1:
            problems.append(f"{iid} has {n} meetings in {slot}")
    for slot, n in Counter(m.slot_id for m in meetings).items():
        if n > problem.tables:
            problems.append(f"{slot} holds {n} meetings but there are {problem.tables} tables")
    for (slot, table), n in Counter((m.slot_id, m.table) for m in meetings).items():
        if n > 1:
            problems.append(f"table {table} is used {n} times in {slot}")

    s_count = Counter(m.startup_id for m in meetings)
    i_count = Counter(m.investor_id for m in meetings)
    for people, count in ((problem.startups, s_count), (problem.investors, i_count)):
        for p in people:
            n = count.get(p.participant_id, 0)
            if not p.min_meetings <= n <= p.max_meetings:
                problems.append(f"{p.participant_id} has {n} meetings, outside {p.min_meetings}..{p.max_meetings}")

    held = {(m.startup_id, m.investor_id): m.slot_id for m in meetings}
    problems.extend(f"must request {s}–{i} is not met" for s, i in sorted(problem.must) if (s, i) not in held)
    for (s, i), slot in sorted((fixed or {}).items()):
        if held.get((s, i)) != slot:
            problems.append(f"confirmed meeting {s}–{i} moved from {slot} to {held.get((s, i))}")

    total = sum(m.score for m in meetings)
    wishes = sum(1 for pair in held if pair in problem.wish)
    return Verification(tuple(problems), objective_of(problem, meetings), total, wishes)
