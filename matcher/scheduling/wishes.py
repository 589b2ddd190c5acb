"""Participants' wishes about their counterparts at one roadshow, and how the solver honours them.

Each participant may state, about a counterpart on the other side, ``must`` (a meeting request: the
other side accepts or declines it), ``wish`` (a preference) or ``no`` (a no-thanks), within the
organiser's :class:`WishLimits`. :func:`honour_wishes` is the one rule that turns them into the event's
own terms, what the solver reads:

- an accepted request → a ``must`` request (hard); two requests for the same meeting, one from each
  side, accept each other;
- a pending request or a wish → a ``wish`` request (a bonus);
- a declined request → nothing;
- a ``no`` from either side → a conflict (the pair never meets), unless the organiser's own event
  requires the pair.

The terms the wishes add are kept apart (:class:`Honoured`) so that what is stored as the event stays
the organiser's own and a changed wish is never left behind (:func:`without_wishes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from matcher.errors import InvalidInputError
from matcher.scheduling.problem import EventProblem, Pair

WishKind = Literal["must", "wish", "no"]
WISH_KINDS: tuple[WishKind, ...] = ("must", "wish", "no")
Answer = Literal["pending", "accepted", "declined"]
ANSWERS: tuple[Answer, ...] = ("pending", "accepted", "declined")
Side = Literal["startup", "investor"]


@dataclass(frozen=True, slots=True)
class StatedWish:
    """What the side ``by`` said about the pair; ``answer`` is the other side's, for a ``must`` only."""

    startup_id: str
    investor_id: str
    by: Side
    kind: WishKind
    answer: Answer | None = None

    @property
    def pair(self) -> Pair:
        return (self.startup_id, self.investor_id)


@dataclass(frozen=True, slots=True)
class WishLimits:
    """The organiser's limits: how many of each kind one participant may state at one event."""

    must: int = 3
    wish: int = 10
    no: int = 5

    def check(self, kinds: Sequence[str], *, field: str = "wishes") -> None:
        """Refuse a participant's set of wishes (their kinds) that exceeds a limit, naming the field."""
        for kind in WISH_KINDS:
            count = sum(1 for k in kinds if k == kind)
            limit = getattr(self, kind)
            if count > limit:
                raise InvalidInputError(
                    f"at most {limit} wishes of kind {kind!r} per participant at this event; {count} given",
                    field=field,
                )


@dataclass(frozen=True, slots=True)
class Honoured:
    """The event with the wishes honoured, and the terms the wishes added to it."""

    problem: EventProblem
    must: frozenset[Pair]
    wish: frozenset[Pair]
    conflicts: frozenset[Pair]


def accepted(wishes: Iterable[StatedWish]) -> frozenset[Pair]:
    """Pairs whose meeting request stands accepted: answered so, or asked for by both sides."""
    wishes = list(wishes)
    asked: dict[Pair, set[str]] = {}
    for w in wishes:
        if w.kind == "must":
            asked.setdefault(w.pair, set()).add(w.by)
    return frozenset(
        w.pair for w in wishes if w.kind == "must" and (w.answer == "accepted" or len(asked[w.pair]) == 2)
    )


def honour_wishes(problem: EventProblem, wishes: Iterable[StatedWish]) -> Honoured:
    """``problem`` with ``wishes`` honoured by the rule of this module. Wishes about someone no longer
    taking part are ignored; a pair appears once, its strongest term winning."""
    startups = {p.participant_id for p in problem.startups}
    investors = {p.participant_id for p in problem.investors}
    wishes = [w for w in wishes if w.startup_id in startups and w.investor_id in investors]
    refused = {w.pair for w in wishes if w.kind == "no"} - problem.must
    agreed = accepted(wishes) - refused
    hoped = {
        w.pair for w in wishes
        if w.kind == "wish" or (w.kind == "must" and w.answer in (None, "pending"))
    } - refused - agreed
    must = frozenset(agreed - problem.must)
    wish = frozenset(hoped - problem.wish - problem.must)
    conflicts = frozenset(refused - problem.conflicts)
    honoured = replace(
        problem,
        must=problem.must | must,
        wish=problem.wish | wish,
        conflicts=problem.conflicts | conflicts,
    )
    return Honoured(honoured, must, wish, conflicts)


def without_wishes(problem: EventProblem, honoured: Honoured) -> EventProblem:
    """``problem`` (e.g. re-planned from ``honoured.problem``) without the terms the wishes added."""
    return replace(
        problem,
        must=problem.must - honoured.must,
        wish=problem.wish - honoured.wish,
        conflicts=problem.conflicts - honoured.conflicts,
    )
