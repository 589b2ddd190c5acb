"""Participants' wishes for a roadshow, drawn from their hidden utilities with noise.

Each participant ranks the other side by what it believes the fit to be: the hidden utility ``u``
plus Gaussian noise (startups know investors less well than investors, who screen decks, know
startups). From that belief it asks to meet its best counterpart (``must``, with some probability),
wishes for the next ones (``wish``) and may refuse its worst (``no``, a no-thanks):

| side | noise σ | P(must) | wishes | P(no) |
|---|---|---|---|---|
| startup | 1.0 | 40% | 2 | 20% (one) |
| investor | 0.6 | 25% | 3 | 35% (one, a third of the time two) |

``apply_wishes`` folds wishes into an ``event.json``'s ``requests`` and ``conflicts`` the way an
organiser would: any ``no`` is a conflict; a ``must`` stays hard only while it keeps the event
feasible, otherwise it counts as a wish.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from matcher.synthetic._truth import Truth, day_array

WishKind = Literal["must", "wish", "no"]
Side = Literal["startup", "investor"]


@dataclass(frozen=True, slots=True)
class _Habit:
    noise: float
    must: float
    wishes: int
    no: float
    second_no: float


_HABITS: dict[Side, _Habit] = {
    "startup": _Habit(noise=1.0, must=0.40, wishes=2, no=0.20, second_no=0.0),
    "investor": _Habit(noise=0.6, must=0.25, wishes=3, no=0.35, second_no=0.33),
}
MIN_SHARED_SLOTS_FOR_MUST = 2


@dataclass(frozen=True, slots=True)
class Wish:
    """One participant's wish about one counterpart: ``by`` says which side stated it."""

    by: Side
    startup_id: str
    investor_id: str
    kind: WishKind


def event_date(event: Mapping[str, Any]) -> date | None:
    """The day of an ``event.json`` (its first slot), or None when it has no slots."""
    slots = event.get("slots") or []
    return date.fromisoformat(str(slots[0]["start"])[:10]) if slots else None


def draw_wishes(truth: Truth, event: Mapping[str, Any], rng: np.random.Generator, *,
                noise: float = 1.0) -> list[Wish]:
    """Every participant's wishes about the other side of ``event`` (an ``event.json`` as a dict).

    Beliefs are the hidden utility on the event's day plus noise of the table above times ``noise``
    (0 = everyone knows the truth). Startups' wishes come first, then investors', each in the event's
    order. Unknown participants raise ``NotFoundError``."""
    startups = [str(p["startup_id"]) for p in event.get("startups", [])]
    investors = [str(p["investor_id"]) for p in event.get("investors", [])]
    if not startups or not investors:
        return []
    sj, gi = truth.startup_rows(startups), truth.investor_rows(investors)
    on = event_date(event)
    rows, cols = np.repeat(sj, gi.size), np.tile(gi, sj.size)
    stage = truth.stage_end[rows] if on is None else truth.stage_on(rows, day_array(on, rows.size))
    u = truth.pair_utility(rows, cols, stage).reshape(sj.size, gi.size)
    wishes: list[Wish] = []
    sides: tuple[tuple[Side, npt.NDArray[np.float64]], ...] = (("startup", u), ("investor", u.T))
    for side, belief in sides:
        habit = _HABITS[side]
        seen = belief + noise * habit.noise * rng.normal(size=belief.shape)
        draws = rng.random((belief.shape[0], 3))
        for r in range(belief.shape[0]):
            order = np.argsort(-seen[r], kind="stable").tolist()
            kinds: list[WishKind] = []
            if draws[r, 0] < habit.must:
                kinds.append("must")
            kinds += ["wish"] * habit.wishes
            picks: list[tuple[int, WishKind]] = list(zip(order, kinds, strict=False))
            refusals = int(draws[r, 1] < habit.no) * (1 + int(draws[r, 2] < habit.second_no))
            spare = order[len(picks):]
            picks += [(c, "no") for c in spare[len(spare) - min(refusals, len(spare)):]]
            for c, kind in picks:
                s_id, i_id = (startups[r], investors[c]) if side == "startup" else (startups[c], investors[r])
                wishes.append(Wish(side, s_id, i_id, kind))
    return wishes


def apply_wishes(event: Mapping[str, Any], wishes: Iterable[Wish], *, max_must: int = 1) -> dict[str, Any]:
    """A copy of ``event`` with ``wishes`` added to its ``requests`` and ``conflicts``.

    A ``no`` from either side makes the pair a conflict (and drops any request for it). A ``must``
    stays a ``must`` while each of the two takes part in at most ``max_must`` of them (requests
    already in the event count) and they share at least two available slots; otherwise it becomes a
    ``wish``, so the event stays feasible. A pair appears once, its strongest kind winning."""
    out = copy.deepcopy(dict(event))
    slot_ids = [str(s["slot_id"]) for s in out.get("slots", [])]
    avail = {str(p.get("startup_id", p.get("investor_id"))): set(p.get("available") or slot_ids)
             for p in [*out.get("startups", []), *out.get("investors", [])]}
    wishes = list(wishes)
    conflicts = [dict(c) for c in out.get("conflicts", [])]
    banned = {(c["startup_id"], c["investor_id"]) for c in conflicts}
    for w in wishes:
        if w.kind == "no" and (w.startup_id, w.investor_id) not in banned:
            banned.add((w.startup_id, w.investor_id))
            conflicts.append({"startup_id": w.startup_id, "investor_id": w.investor_id})

    kinds: dict[tuple[str, str], str] = {}
    musts: dict[str, int] = {}
    for r in out.get("requests", []):
        pair = (r["startup_id"], r["investor_id"])
        if pair not in banned:
            kinds[pair] = "must" if r["kind"] == "must" or kinds.get(pair) == "must" else r["kind"]
    for (s_id, i_id), kind in kinds.items():
        if kind == "must":
            musts[s_id] = musts.get(s_id, 0) + 1
            musts[i_id] = musts.get(i_id, 0) + 1
    for w in wishes:
        pair = (w.startup_id, w.investor_id)
        if w.kind == "no" or pair in banned or kinds.get(pair) == "must":
            continue
        if (w.kind == "must" and musts.get(w.startup_id, 0) < max_must and musts.get(w.investor_id, 0) < max_must
                and len(avail.get(w.startup_id, set()) & avail.get(w.investor_id, set()))
                >= MIN_SHARED_SLOTS_FOR_MUST):
            kinds[pair] = "must"
            musts[w.startup_id] = musts.get(w.startup_id, 0) + 1
            musts[w.investor_id] = musts.get(w.investor_id, 0) + 1
        else:
            kinds.setdefault(pair, "wish")
    out["requests"] = [{"startup_id": s_id, "investor_id": i_id, "kind": kind} for (s_id, i_id), kind in kinds.items()]
    out["conflicts"] = conflicts
    return out
