"""The one interface every meeting-grid solver implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from matcher.scheduling.encoder import EncodedProblem


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


class Solver(Protocol):
    name: str

    def solve(self, problem: EncodedProblem, *, time_limit: float, seed: int) -> Assignment:
        """Return a valid assignment or raise :class:`matcher.errors.InfeasibleError`."""
        ...
