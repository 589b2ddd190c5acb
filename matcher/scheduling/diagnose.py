"""Why an event has no valid schedule, in words an organiser can act on.

First cheap counting arguments that name one participant or request each ("S17 needs 6 meetings but is
available in 4 slots"); when those all pass yet the solver proves infeasibility, an elastic model (minima and
must requests may fall short at a cost) finds the smallest set of shortfalls, which is exactly what to relax.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from matcher.errors import InfeasibleError
from matcher.scheduling.encoder import EncodedProblem
from matcher.scheduling.problem import EventProblem, Participant
from matcher.scheduling.solvers._highs import SparseModel, maximise

ELASTIC_TIME_LIMIT = 20.0


def precheck(problem: EventProblem) -> list[str]:
    """Counting arguments that each prove infeasibility on their own; empty when none applies."""
    out: list[str] = []
    if not problem.scores and any(p.min_meetings for p in problem.startups + problem.investors):
        out.append("the event gives no scores: add them or pass --data so the ranking model scores the pairs")
    common: dict[tuple[str, str], int] = {}
    avail = {p.participant_id: set(p.available) for p in (*problem.startups, *problem.investors)}
    partners: Counter[str] = Counter()
    for s, i in problem.scores:
        if (s, i) in problem.conflicts:
            continue
        n = len(avail[s] & avail[i])
        common[(s, i)] = n
        if n:
            partners[s] += 1
            partners[i] += 1

    for s, i in sorted(problem.must):
        if (s, i) in problem.conflicts:
            out.append(f"must request {s}–{i} is also listed as a conflict: remove one of the two")
        elif (s, i) not in problem.scores:
            out.append(f"must request {s}–{i} has no score (give it one in the event or pass --data)")
        elif common[(s, i)] == 0:
            out.append(f"must request {s}–{i}: they share no available slot; extend one side's availability")
    must_count = Counter(s for s, _ in problem.must) + Counter(i for _, i in problem.must)

    def side(people: tuple[Participant, ...], other: str) -> None:
        for p in people:
            pid, lo, hi, slots = p.participant_id, p.min_meetings, p.max_meetings, len(p.available)
            if lo > hi:
                out.append(f"{pid}: min_meetings {lo} exceeds max_meetings {hi}")
            if lo > slots:
                out.append(
                    f"{pid} needs {lo} meetings but is available in {slots} slots: "
                    f"lower its min_meetings to {slots} or extend its availability"
                )
            elif lo > partners[pid]:
                out.append(
                    f"{pid} needs {lo} meetings but only {partners[pid]} {other} can meet it "
                    f"(scored, not a conflict, sharing a free slot): lower its min_meetings to {partners[pid]}"
                )
            musts = must_count[pid]
            if musts > min(hi, slots):
                out.append(
                    f"{pid} has {musts} must requests but can hold at most {min(hi, slots)} meetings "
                    f"(max_meetings {hi}, {slots} available slots): drop some must requests"
                )

    side(problem.startups, "investors")
    side(problem.investors, "startups")

    capacity = problem.tables * len(problem.slots)
    for label, people in (("startups", problem.startups), ("investors", problem.investors)):
        need = sum(p.min_meetings for p in people)
        if need > capacity:
            out.append(
                f"{label} need at least {need} meetings in total but {problem.tables} tables × "
                f"{len(problem.slots)} slots hold {capacity}: add tables or slots, or lower minimums"
            )
    s_need = sum(p.min_meetings for p in problem.startups)
    i_cap = sum(min(p.max_meetings, len(p.available)) for p in problem.investors)
    if s_need > i_cap:
        out.append(
            f"startups need at least {s_need} meetings but investors can hold at most {i_cap}: "
            "raise investors' max_meetings or lower startups' minimums"
        )
    return out


def explain_infeasible(problem: EventProblem, encoded: EncodedProblem) -> InfeasibleError:
    """An :class:`InfeasibleError` whose ``conflicts`` list what to relax."""
    found = precheck(problem)
    if found:
        return InfeasibleError("the event has no valid schedule", conflicts=found)
    return InfeasibleError("the event has no valid schedule", conflicts=_elastic(encoded))


def _elastic(p: EncodedProblem) -> list[str]:
    """Minimise the total shortfall on minima and must requests; report every positive shortfall."""
    n = p.n_vars
    vp, vt = p.var_pair, p.var_slot
    vs, vi = p.pair_startup[vp], p.pair_investor[vp]
    must_pairs = np.nonzero(p.pair_must)[0]
    n_s, n_i, n_m = p.n_startups, p.n_investors, must_pairs.shape[0]
    s_off, i_off, m_off = n, n + n_s, n + n_s + n_i
    model = SparseModel(n + n_s + n_i + n_m)
    n_t = p.n_slots
    model.add_group_rows(vs * n_t + vt, np.zeros(n_s * n_t), np.ones(n_s * n_t), min_size=2)
    model.add_group_rows(vi * n_t + vt, np.zeros(n_i * n_t), np.ones(n_i * n_t), min_size=2)
    model.add_group_rows(vt, np.zeros(n_t), np.full(n_t, float(p.tables)), min_size=p.tables + 1)
    model.add_group_rows(vp, np.zeros(p.n_pairs), np.ones(p.n_pairs), min_size=2)
    model.add_group_rows(vs, np.zeros(n_s), p.startup_max.astype(np.float64))
    model.add_group_rows(vi, np.zeros(n_i), p.investor_max.astype(np.float64))
    cols = np.arange(n, dtype=np.int64)
    # count + shortfall ≥ min, one row per participant (the shortfall column joins the group).
    model.add_group_rows(
        np.concatenate([vs, np.arange(n_s)]),
        p.startup_min.astype(np.float64),
        np.full(n_s, np.inf),
        columns=np.concatenate([cols, s_off + np.arange(n_s)]),
    )
    model.add_group_rows(
        np.concatenate([vi, np.arange(n_i)]),
        p.investor_min.astype(np.float64),
        np.full(n_i, np.inf),
        columns=np.concatenate([cols, i_off + np.arange(n_i)]),
    )
    must_slot = {int(pair): k for k, pair in enumerate(must_pairs)}
    in_must = np.isin(vp, must_pairs)
    keys = np.array([must_slot[int(x)] for x in vp[in_must]], dtype=np.int64)
    model.add_group_rows(
        np.concatenate([keys, np.arange(n_m)]),
        np.ones(n_m),
        np.full(n_m, np.inf),
        columns=np.concatenate([cols[in_must], m_off + np.arange(n_m)]),
    )
    col_lo = np.zeros(model.n_cols)
    col_lo[:n] = p.fixed.astype(np.float64)
    col_hi = np.concatenate([np.ones(n), p.startup_min, p.investor_min, np.ones(n_m)]).astype(np.float64)
    integer = np.ones(model.n_cols, dtype=np.bool_)
    cost = np.concatenate([np.zeros(n), -np.ones(n_s + n_i + n_m)])
    result = maximise(model, cost, col_lo, col_hi, integer, time_limit=ELASTIC_TIME_LIMIT)
    if result.x is None:
        return ["the confirmed (fixed) meetings cannot all be kept together with the table and slot limits"]
    short = np.round(result.x).astype(np.int64)
    out: list[str] = []
    for k in np.nonzero(short[s_off:i_off])[0].tolist():
        got = int(p.startup_min[k] - short[s_off + k])
        out.append(
            f"{p.startup_ids[k]} can get at most {got} of its {p.startup_min[k]} minimum meetings together "
            f"with everyone else's: lower its min_meetings to {got}"
        )
    for k in np.nonzero(short[i_off:m_off])[0].tolist():
        got = int(p.investor_min[k] - short[i_off + k])
        out.append(
            f"{p.investor_ids[k]} can get at most {got} of its {p.investor_min[k]} minimum meetings together "
            f"with everyone else's: lower its min_meetings to {got}"
        )
    out.extend(_why_must_fails(p, int(must_pairs[k])) for k in np.nonzero(short[m_off:])[0].tolist())
    return out or ["the table and slot limits leave no room for every hard requirement"]


def _why_must_fails(p: EncodedProblem, pair: int) -> str:
    """Name the confirmed meetings in the way of a must request when they are the reason."""
    s, i = int(p.pair_startup[pair]), int(p.pair_investor[pair])
    head = f"must request {p.startup_ids[s]}–{p.investor_ids[i]}"
    fixed_s = p.fixed & (p.var_startup == s)
    fixed_i = p.fixed & (p.var_investor == i)
    sides = ((s, p.startup_ids, fixed_s, p.startup_max), (i, p.investor_ids, fixed_i, p.investor_max))
    for idx, ids, fixed, cap in sides:
        if int(fixed.sum()) >= int(cap[idx]):
            return (
                f"{head}: {ids[idx]} already has {int(fixed.sum())} confirmed meetings (max_meetings {int(cap[idx])}); "
                "raise its maximum or cancel one of them"
            )
    common = set(p.var_slot[p.var_pair == pair].tolist())
    blocked = set(p.var_slot[fixed_s | fixed_i].tolist())
    if common and common <= blocked:
        slots = ", ".join(p.slot_ids[t] for t in sorted(common))
        return f"{head}: every common slot ({slots}) holds a confirmed meeting of one side; move or cancel one"
    return f"{head} cannot be met together with the other requests and limits: drop it or free a slot for it"
