"""Meeting-grid solvers behind one interface, chosen by name.

``milp`` is exact (the whole time-indexed model); ``decomposition`` scales to large events and still
reports a bound; ``auto`` runs the decomposition and closes any gap left with the MILP on small events.
"""

from __future__ import annotations

from matcher.errors import InvalidInputError
from matcher.scheduling.solvers.auto import AutoSolver
from matcher.scheduling.solvers.base import Assignment, Solver
from matcher.scheduling.solvers.decomposition import DecompositionSolver
from matcher.scheduling.solvers.milp import MilpSolver

SOLVERS: dict[str, type[AutoSolver] | type[MilpSolver] | type[DecompositionSolver]] = {
    "auto": AutoSolver,
    "milp": MilpSolver,
    "decomposition": DecompositionSolver,
}
SOLVER_NAMES: tuple[str, ...] = tuple(SOLVERS)


def get_solver(name: str) -> Solver:
    """The solver registered under ``name``; an unknown name is an error, never a silent default."""
    cls = SOLVERS.get(name)
    if cls is None:
        raise InvalidInputError(
            f"unknown solver {name!r}; choose one of {', '.join(SOLVER_NAMES)}", field="solver"
        )
    return cls()


__all__ = ["SOLVERS", "SOLVER_NAMES", "Assignment", "Solver", "get_solver"]
