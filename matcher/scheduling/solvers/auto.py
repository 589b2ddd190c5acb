"""``auto``: the decomposition first (seconds, with a bound), then the exact MILP on what time is left
when the event is small enough for it and the decomposition did not already prove optimality (in fair and
balanced modes also when its layout could not keep stage 1's fairness levels)."""

from __future__ import annotations

import time

from matcher.errors import MatcherError
from matcher.scheduling.encoder import EncodedProblem, uses_levels
from matcher.scheduling.solvers.base import Assignment
from matcher.scheduling.solvers.decomposition import DecompositionSolver
from matcher.scheduling.solvers.milp import MilpSolver

AUTO_MILP_MAX_VARIABLES = 60_000
"""Above this many (pair, slot) variables the full MILP rarely improves on the decomposition within a
30-60 s budget (400 × 120 × 16 with scattered availability, 91k variables: the decomposition is within
0.004 % in 11 s; the MILP then only tightens the bound, past a 30 s limit); see bench/scheduling.py."""
DECOMPOSITION_SHARE = 0.4


class AutoSolver:
    name = "auto"

    def solve(self, problem: EncodedProblem, *, time_limit: float, seed: int) -> Assignment:
        started = time.monotonic()
        small = problem.n_vars <= AUTO_MILP_MAX_VARIABLES
        first = DecompositionSolver().solve(
            problem, time_limit=DECOMPOSITION_SHARE * time_limit if small else time_limit, seed=seed
        )
        first = _tagged(first, "decomposition")
        if first.status == "optimal" or not small:
            return first
        # HiGHS checks its clock between phases, so leave it a margin to stay within the caller's limit.
        remaining = 0.85 * (time_limit - (time.monotonic() - started)) - 0.5
        if remaining < 1.0:
            return first
        try:
            second = _tagged(MilpSolver().solve(problem, time_limit=remaining, seed=seed), "milp")
        except MatcherError:
            return first
        if uses_levels(problem.mode):
            # Fair and balanced bounds are conditional on each run's own fairness levels, so they do not
            # combine: the lexicographically better schedule keeps its own bound and status.
            return second if second.better_than(first, problem) else first
        # Both bounds are valid for the same objective, so the smaller one is too.
        bound = min(first.upper_bound, second.upper_bound)
        best = second if second.objective(problem) > first.objective(problem) else first
        objective = best.objective(problem)
        status = "optimal" if objective >= bound - 1e-6 * max(1.0, abs(bound)) else "feasible"
        return Assignment(best.selected, max(bound, objective), status, best.stats)


def _tagged(assignment: Assignment, method: str) -> Assignment:
    return Assignment(
        assignment.selected, assignment.upper_bound, assignment.status, {**assignment.stats, "method": method}
    )
