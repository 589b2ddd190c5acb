"""Records → arrays. Solvers see only this: index arrays over participants, pairs and (pair, slot) variables.

Variables exist only for allowed pairs × slots where both sides are available, so the model stays sparse
(a pair with no common slot is simply absent and cannot be scheduled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from matcher.errors import InvalidInputError
from matcher.scheduling.problem import EventProblem, Pair

Mode = Literal["balanced", "total", "fair"]
MODES: tuple[Mode, ...] = ("balanced", "total", "fair")
DEFAULT_MODE: Mode = "balanced"
"""What a roadshow promises: every startup gets as many meetings as the worst-off one can get, and within
that the total score is as high as it can be (on the sample: fewest meetings 1 → 4 for 1.4 % of total score;
``fair`` also lifts the worst-off startup's score total and costs 12 %)."""


def uses_levels(mode: Mode) -> bool:
    """Modes that first maximise the smallest number of meetings any startup gets."""
    return mode != "total"

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class EncodedProblem:
    """The meeting grid as arrays. Pair ``p`` is (``pair_startup[p]``, ``pair_investor[p]``); variable
    ``v`` is pair ``var_pair[v]`` meeting in slot ``var_slot[v]``. ``fixed`` variables must be 1."""

    startup_ids: tuple[str, ...]
    investor_ids: tuple[str, ...]
    slot_ids: tuple[str, ...]
    tables: int
    mode: Mode
    startup_available: BoolArray
    investor_available: BoolArray
    startup_min: IntArray
    startup_max: IntArray
    investor_min: IntArray
    investor_max: IntArray
    pair_startup: IntArray
    pair_investor: IntArray
    pair_score: FloatArray
    pair_bonus: FloatArray
    pair_must: BoolArray
    var_pair: IntArray
    var_slot: IntArray
    fixed: BoolArray

    @property
    def n_startups(self) -> int:
        return len(self.startup_ids)

    @property
    def n_investors(self) -> int:
        return len(self.investor_ids)

    @property
    def n_slots(self) -> int:
        return len(self.slot_ids)

    @property
    def n_pairs(self) -> int:
        return int(self.pair_startup.shape[0])

    @property
    def n_vars(self) -> int:
        return int(self.var_pair.shape[0])

    @property
    def pair_weight(self) -> FloatArray:
        """What a held meeting adds to the objective: its score plus the wish bonus."""
        return self.pair_score + self.pair_bonus

    @property
    def var_startup(self) -> IntArray:
        return self.pair_startup[self.var_pair]

    @property
    def var_investor(self) -> IntArray:
        return self.pair_investor[self.var_pair]

    @property
    def var_weight(self) -> FloatArray:
        return self.pair_weight[self.var_pair]


def _availability(people_available: list[tuple[str, ...]], slot_index: Mapping[str, int], n_slots: int) -> BoolArray:
    out = np.zeros((len(people_available), n_slots), dtype=np.bool_)
    for row, available in enumerate(people_available):
        out[row, [slot_index[s] for s in available]] = True
    return out


def encode(
    problem: EventProblem, *, mode: Mode = DEFAULT_MODE, fixed: Mapping[Pair, str] | None = None
) -> EncodedProblem:
    """Encode ``problem``. ``fixed`` maps pairs to the slot they are confirmed in (rescheduling)."""
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}", field="mode")
    fixed = fixed or {}
    slot_ids = problem.slot_ids
    slot_index = {s: k for k, s in enumerate(slot_ids)}
    startup_ids = tuple(p.participant_id for p in problem.startups)
    investor_ids = tuple(p.participant_id for p in problem.investors)
    s_index = {s: k for k, s in enumerate(startup_ids)}
    i_index = {i: k for k, i in enumerate(investor_ids)}
    n_slots = len(slot_ids)
    s_avail = _availability([p.available for p in problem.startups], slot_index, n_slots)
    i_avail = _availability([p.available for p in problem.investors], slot_index, n_slots)

    # Sorted by (startup, investor) position so the variable order, hence the solve, is deterministic.
    allowed = sorted(
        (s_index[s], i_index[i], score)
        for (s, i), score in problem.scores.items()
        if (s, i) not in problem.conflicts
    )
    if allowed:
        ps_all = np.fromiter((a[0] for a in allowed), dtype=np.int64, count=len(allowed))
        pi_all = np.fromiter((a[1] for a in allowed), dtype=np.int64, count=len(allowed))
        score_all = np.fromiter((a[2] for a in allowed), dtype=np.float64, count=len(allowed))
    else:
        ps_all = np.zeros(0, dtype=np.int64)
        pi_all = np.zeros(0, dtype=np.int64)
        score_all = np.zeros(0, dtype=np.float64)
    common = s_avail[ps_all] & i_avail[pi_all]
    keep = common.any(axis=1)
    ps, pi, score, common = ps_all[keep], pi_all[keep], score_all[keep], common[keep]

    def flags(pairs: frozenset[Pair]) -> BoolArray:
        marked = np.zeros((len(startup_ids), len(investor_ids)), dtype=np.bool_)
        for s, i in pairs:
            marked[s_index[s], i_index[i]] = True
        return marked[ps, pi]

    must = flags(problem.must)
    bonus = np.where(flags(problem.wish), problem.wish_bonus, 0.0)
    var_pair, var_slot = np.nonzero(common)
    var_pair = var_pair.astype(np.int64)
    var_slot = var_slot.astype(np.int64)

    fixed_mask = np.zeros(var_pair.shape[0], dtype=np.bool_)
    if fixed:
        pair_pos = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(ps, pi, strict=True))}
        var_pos = {(int(p), int(t)): v for v, (p, t) in enumerate(zip(var_pair, var_slot, strict=True))}
        for (s, i), slot in fixed.items():
            p = pair_pos.get((s_index[s], i_index[i]))
            v = None if p is None else var_pos.get((p, slot_index[slot]))
            if v is None:
                raise InvalidInputError(f"confirmed meeting {s}–{i} in {slot} is not allowed any more", field="fixed")
            fixed_mask[v] = True

    return EncodedProblem(
        startup_ids=startup_ids,
        investor_ids=investor_ids,
        slot_ids=slot_ids,
        tables=problem.tables,
        mode=mode,
        startup_available=s_avail,
        investor_available=i_avail,
        startup_min=np.array([p.min_meetings for p in problem.startups], dtype=np.int64),
        startup_max=np.array([p.max_meetings for p in problem.startups], dtype=np.int64),
        investor_min=np.array([p.min_meetings for p in problem.investors], dtype=np.int64),
        investor_max=np.array([p.max_meetings for p in problem.investors], dtype=np.int64),
        pair_startup=ps,
        pair_investor=pi,
        pair_score=score,
        pair_bonus=bonus,
        pair_must=must,
        var_pair=var_pair,
        var_slot=var_slot,
        fixed=fixed_mask,
    )
