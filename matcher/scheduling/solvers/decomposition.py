"""Decomposition for large events: choose pairs, then lay them into slots, then fill what is left.

1. Pair selection: the aggregated model (``build_pair_model``: one variable per allowed pair, slots
   forgotten) solved by HiGHS. It is a relaxation of the grid, so its bound is the reported upper bound.
   It is a bipartite b-matching plus one capacity row, so its LP is integral or nearly so and solves in
   seconds even with hundreds of thousands of pairs.
2. Slot assignment: the time-indexed MILP restricted to the chosen pairs' variables (an edge-colouring
   problem with availability; König's theorem says it always fits when availability is full).
3. Repair: when some chosen pairs did not fit, the grid is re-solved over the chosen pairs plus every
   allowed pair of the participants who lost a meeting.
4. Fill: any capacity still left is offered greedily, best weight first, to the remaining allowed pairs.

If stage 2 cannot even honour the hard rows (mins, musts, fixed meetings) on the chosen pairs, the full
grid is solved with the remaining time instead.
"""

from __future__ import annotations

import time

import numpy as np

from matcher.errors import InfeasibleError
from matcher.scheduling.encoder import BoolArray, EncodedProblem, uses_levels
from matcher.scheduling.solvers.base import FAIR_SCORE_TOLERANCE, Assignment, reached_levels
from matcher.scheduling.solvers.milp import build_pair_model, solve_grid, solve_in_mode, to_assignment

STAGE1_SHARE = {"total": 0.3, "balanced": 0.5, "fair": 0.7}


class DecompositionSolver:
    name = "decomposition"

    def solve(self, problem: EncodedProblem, *, time_limit: float, seed: int) -> Assignment:
        del seed  # every stage is deterministic: HiGHS with its fixed seed, then a sorted greedy fill
        started = time.monotonic()
        deadline = started + time_limit
        pair_ids = np.arange(problem.n_pairs, dtype=np.int64)
        model, col_lo, col_hi = build_pair_model(problem, pair_ids, fairness=uses_levels(problem.mode))
        chosen, stats = solve_in_mode(
            problem,
            model,
            col_lo,
            col_hi,
            problem.pair_weight,
            time_limit=STAGE1_SHARE[problem.mode] * time_limit,
            rel_gap=1e-5,
            col_startup=problem.pair_startup,
            col_score=problem.pair_score,
        )
        if chosen.status == "infeasible":
            raise InfeasibleError("no schedule satisfies every constraint")
        upper_bound = chosen.bound
        stage1_seconds = time.monotonic() - started
        if chosen.x is None:
            # No pair set found in time: the full grid gets everything that is left.
            var_ids = np.arange(problem.n_vars, dtype=np.int64)
            result, grid_stats = solve_grid(problem, var_ids, time_limit=max(deadline - time.monotonic(), 1.0))
            assignment = to_assignment(problem, var_ids, result, grid_stats)
            return _with_bound(assignment, min(upper_bound, assignment.upper_bound), stats)

        picked: BoolArray = chosen.x[: problem.n_pairs] > 0.5
        var_ids = np.nonzero(picked[problem.var_pair])[0].astype(np.int64)
        # The chosen pairs already carry the fairness levels; laying them out is a plain weighted fit.
        result, _ = solve_grid(
            problem, var_ids, time_limit=max(deadline - time.monotonic(), 1.0), rel_gap=1e-4, fairness=False
        )
        if result.x is None:
            var_ids = np.arange(problem.n_vars, dtype=np.int64)
            result, _ = solve_grid(problem, var_ids, time_limit=max(deadline - time.monotonic(), 1.0))
        assignment = to_assignment(problem, var_ids, result, {})
        laid = assignment
        laid_pairs = np.zeros(problem.n_pairs, dtype=np.bool_)
        laid_pairs[problem.var_pair[assignment.selected]] = True
        lost = picked & ~laid_pairs
        if lost.any() and deadline - time.monotonic() > 1.0:
            assignment = _repair(problem, picked, lost, assignment, deadline)
        selected = fill_greedily(problem, assignment.selected)
        stats = {f"pair_model_{k}" if k in ("variables", "constraints") else k: v for k, v in stats.items()}
        stats.update(
            pairs_chosen=int(picked.sum()),
            pairs_laid=int(laid.selected.sum()),
            repaired=int(assignment.selected.sum() - laid.selected.sum()),
            filled=int(selected.sum() - assignment.selected.sum()),
            stage1_seconds=round(stage1_seconds, 3),
        )
        objective = float(problem.var_weight[selected].sum())
        status = "optimal" if objective >= upper_bound - 1e-6 * max(1.0, abs(upper_bound)) else "feasible"
        if uses_levels(problem.mode):
            # Stage 1's bound holds only at the fairness levels its pairs reach; a layout that could not keep
            # them (the worst-off startup lost a meeting) is a feasible schedule, not a proven one.
            reached = reached_levels(selected.astype(np.float64), problem.var_startup,
                                     problem.pair_score[problem.var_pair])
            promised = reached_levels(picked.astype(np.float64), problem.pair_startup, problem.pair_score)
            kept = reached[0] >= promised[0] and (
                problem.mode == "balanced" or reached[1] >= promised[1] - FAIR_SCORE_TOLERANCE * max(1.0, promised[1])
            )
            stats.update(levels_kept="yes" if kept else "no")
            if not kept:
                status = "feasible"
        return Assignment(selected=selected, upper_bound=max(upper_bound, objective), status=status, stats=stats)


def _repair(
    problem: EncodedProblem, picked: BoolArray, lost: BoolArray, laid: Assignment, deadline: float
) -> Assignment:
    """Chosen pairs that did not fit: re-solve the grid over the chosen pairs plus every allowed pair of
    the participants who lost a meeting, so they can meet someone else or swap slots."""
    startups = np.unique(problem.pair_startup[lost])
    investors = np.unique(problem.pair_investor[lost])
    around = picked | np.isin(problem.pair_startup, startups) | np.isin(problem.pair_investor, investors)
    var_ids = np.nonzero(around[problem.var_pair])[0].astype(np.int64)
    result, _ = solve_grid(
        problem, var_ids, time_limit=max(deadline - time.monotonic(), 1.0), rel_gap=1e-4, fairness=False
    )
    if result.x is None:
        return laid
    repaired = to_assignment(problem, var_ids, result, {})
    return repaired if repaired.better_than(laid, problem) else laid


def _with_bound(assignment: Assignment, bound: float, stats: dict[str, float | int | str]) -> Assignment:
    return Assignment(assignment.selected, bound, assignment.status, {**stats, **assignment.stats})


def fill_greedily(problem: EncodedProblem, selected: BoolArray) -> BoolArray:
    """Add meetings, best weight first (ties: earliest pair, then earliest slot), wherever both sides are
    free, a table is free and neither side is at its maximum. Never removes a meeting."""
    out = selected.copy()
    vp, vt = problem.var_pair, problem.var_slot
    vs, vi = problem.pair_startup[vp], problem.pair_investor[vp]
    n_t = problem.n_slots
    s_busy = np.zeros((problem.n_startups, n_t), dtype=np.bool_)
    i_busy = np.zeros((problem.n_investors, n_t), dtype=np.bool_)
    s_busy[vs[out], vt[out]] = True
    i_busy[vi[out], vt[out]] = True
    s_count = np.bincount(vs[out], minlength=problem.n_startups)
    i_count = np.bincount(vi[out], minlength=problem.n_investors)
    slot_used = np.bincount(vt[out], minlength=n_t)
    pair_met = np.zeros(problem.n_pairs, dtype=np.bool_)
    pair_met[vp[out]] = True

    weight = problem.var_weight
    open_vars = np.nonzero(
        ~out
        & ~pair_met[vp]
        & (weight > 0)
        # A non-negative score never lowers a startup's total, so fairness levels survive the fill.
        & (problem.pair_score[vp] >= 0)
        & (s_count[vs] < problem.startup_max[vs])
        & (i_count[vi] < problem.investor_max[vi])
        & (slot_used[vt] < problem.tables)
        & ~s_busy[vs, vt]
        & ~i_busy[vi, vt]
    )[0]
    order = open_vars[np.lexsort((vt[open_vars], vp[open_vars], -weight[open_vars]))]
    for v in order.tolist():
        p, t, s, i = int(vp[v]), int(vt[v]), int(vs[v]), int(vi[v])
        if (
            pair_met[p]
            or s_busy[s, t]
            or i_busy[i, t]
            or slot_used[t] >= problem.tables
            or s_count[s] >= problem.startup_max[s]
            or i_count[i] >= problem.investor_max[i]
        ):
            continue
        out[v] = True
        pair_met[p] = True
        s_busy[s, t] = i_busy[i, t] = True
        s_count[s] += 1
        i_count[i] += 1
        slot_used[t] += 1
    return out
