"""The one interface every meeting-grid solver implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from matcher.scheduling.encoder import EncodedProblem

FAIR_SCORE_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Assignment:
    """Which (pair, slot) variables are chosen, and the proven upper bound on the objective."""

    selected: NDArray[np.bool_]
    upper_bound: float
    status: str
    """"optimal" when the bound is met (within HiGHS's tolerance), "feasible" otherwise."""
    stats: dict[str, float | int | str] = field(default_factory=dict)

    def objective(self, problem: EncodedProblem) -> float:
        return float(problem.var_weight[self.selected].sum())

    def rank_key(self, problem: EncodedProblem) -> tuple[float, ...]:
        """What the mode maximises, in order: the total; in balanced mode first the worst-off startup's
        meeting count; in fair mode that, then the worst-off startup's score total. Larger is better."""
        if problem.mode == "total":
            return (self.objective(problem),)
        meetings, score = reached_levels(
            self.selected.astype(np.float64), problem.var_startup, problem.pair_score[problem.var_pair]
        )
        if problem.mode == "balanced":
            return (meetings, self.objective(problem))
        return (meetings, score, self.objective(problem))

    def better_than(self, other: Assignment, problem: EncodedProblem) -> bool:
        """Lexicographically better in the problem's mode (score levels within the fair-mode tolerance)."""
        return _beats(self.rank_key(problem), other.rank_key(problem))


def reached_levels(
    x: NDArray[np.float64], col_startup: NDArray[np.int64], col_score: NDArray[np.float64]
) -> tuple[float, float]:
    """Smallest meeting count and smallest total score over the startups that have a column."""
    chosen = x > 0.5
    people, where = np.unique(col_startup, return_inverse=True)
    if people.shape[0] == 0:
        return 0.0, 0.0
    counts = np.bincount(where, weights=chosen.astype(np.float64), minlength=people.shape[0])
    scores = np.bincount(where, weights=np.where(chosen, col_score, 0.0), minlength=people.shape[0])
    return float(counts.min()), float(scores.min())


def _beats(mine: tuple[float, ...], theirs: tuple[float, ...]) -> bool:
    for a, b in zip(mine, theirs, strict=True):
        tolerance = FAIR_SCORE_TOLERANCE * max(1.0, abs(b))
        if a > b + tolerance:
            return True
        if a < b - tolerance:
            return False
    return False


class Solver(Protocol):
    name: str

    def solve(self, problem: EncodedProblem, *, time_limit: float, seed: int) -> Assignment:
        """Return a valid assignment or raise :class:`matcher.errors.InfeasibleError`."""
        ...
