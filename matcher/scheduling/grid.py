"""The one entry point that solves a meeting grid: check → encode → solve → decode → verify."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np

from matcher.errors import InfeasibleError, InvalidInputError, MatcherError
from matcher.scheduling.decoder import decode
from matcher.scheduling.diagnose import explain_infeasible, precheck
from matcher.scheduling.encoder import DEFAULT_MODE, Mode, encode
from matcher.scheduling.problem import EventProblem, Pair
from matcher.scheduling.schedule import Schedule, spread
from matcher.scheduling.solvers import get_solver
from matcher.scheduling.verify import verify

Progress = Callable[[str], None]


def solve(
    problem: EventProblem,
    *,
    mode: Mode = DEFAULT_MODE,
    solver: str = "auto",
    time_limit: float = 60.0,
    seed: int = 0,
    fixed: Mapping[Pair, str] | None = None,
    fixed_tables: Mapping[Pair, int] | None = None,
    progress: Progress | None = None,
) -> Schedule:
    """Schedule ``problem``; ``fixed`` pins confirmed meetings to their slots (and ``fixed_tables`` to
    their tables). Raises :class:`InfeasibleError` listing what to relax when no valid schedule exists."""
    say = progress or (lambda _msg: None)
    chosen = get_solver(solver)  # an unknown name fails before any work is done
    if time_limit <= 0:
        raise InvalidInputError("the time limit must be positive", field="time_limit")
    started = time.monotonic()
    found = precheck(problem)
    if found:
        raise InfeasibleError("the event has no valid schedule", conflicts=found)
    encoded = encode(problem, mode=mode, fixed=fixed)
    say(f"solving {encoded.n_pairs} pairs × slots = {encoded.n_vars} variables with {chosen.name}")
    try:
        assignment = chosen.solve(encoded, time_limit=time_limit, seed=seed)
    except InfeasibleError as exc:
        if exc.conflicts:
            raise
        say("infeasible: looking for what to relax")
        raise explain_infeasible(problem, encoded) from None
    meetings = decode(problem, encoded, assignment, fixed_tables=fixed_tables)
    check = verify(problem, meetings, fixed=fixed)
    if not check.valid:
        # A solver bug must never reach an organiser as a schedule.
        raise MatcherError("the solver returned an invalid schedule: " + "; ".join(check.violations[:5]))
    can_meet = np.unique(encoded.pair_startup)
    counts = np.bincount(encoded.var_startup[assignment.selected], minlength=encoded.n_startups)
    stats: dict[str, object] = {
        "total_score": round(check.total_score, 6),
        "wishes_met": check.wishes_met,
        # Over startups that could meet anyone at all (the quantity fair mode maximises first).
        "min_startup_meetings": int(counts[can_meet].min()) if can_meet.size else 0,
        # What the organiser checks first: fewest, median and most meetings per startup present.
        "meetings_per_startup": spread(problem, meetings),
        "scored_by_model": len(problem.scored_by_model),
        "pairs": encoded.n_pairs,
        "grid_variables": encoded.n_vars,
        **assignment.stats,
    }
    return Schedule(
        event_id=problem.event_id,
        meetings=meetings,
        objective=check.objective,
        upper_bound=max(assignment.upper_bound, check.objective),
        status=assignment.status,
        solver=chosen.name,
        mode=mode,
        seconds=time.monotonic() - started,
        stats=stats,
    )
