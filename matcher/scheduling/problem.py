"""The event problem: ``event.json`` (see DATA_FORMAT.md) parsed, validated and resolved into typed records.

Defaults are resolved here once (``available`` missing → every slot, ``max_meetings`` missing → the slot
count) so the encoder, solvers and verifier never re-interpret the file. Every error names the field.

Beyond the contract's keys an event may carry a ``venue`` and each participant a ``name`` (what the handouts
print); :func:`event_to_dict` writes them back, so the stored document of an event is its ``event.json``.
Slots are time periods of one timetable: they must not overlap, and either all carry a time zone or none.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.errors import InvalidInputError

Pair = tuple[str, str]
"""(startup_id, investor_id)."""

PairScorer = Callable[[list[Pair]], NDArray[np.float64]]
"""Scores the given pairs (NaN = cannot score); used for pairs the event gives no score for."""

REQUEST_KINDS = ("must", "wish")
DEFAULT_WISH_BONUS = 0.25


@dataclass(frozen=True, slots=True)
class Slot:
    slot_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Participant:
    """A startup or an investor at the event, with defaults resolved."""

    participant_id: str
    available: tuple[str, ...]
    min_meetings: int
    max_meetings: int
    name: str | None = None

    @property
    def label(self) -> str:
        """What people read: the name, or the id when the event gives none."""
        return self.name or self.participant_id


@dataclass(frozen=True, slots=True)
class EventProblem:
    """One roadshow's meeting-grid problem. Immutable: solvers and rescheduling build new ones."""

    event_id: str
    name: str
    tables: int
    slots: tuple[Slot, ...]
    startups: tuple[Participant, ...]
    investors: tuple[Participant, ...]
    scores: Mapping[Pair, float]
    must: frozenset[Pair] = frozenset()
    wish: frozenset[Pair] = frozenset()
    conflicts: frozenset[Pair] = frozenset()
    wish_bonus: float = DEFAULT_WISH_BONUS
    scored_by_model: frozenset[Pair] = field(default_factory=frozenset)
    venue: str | None = None

    @property
    def slot_ids(self) -> tuple[str, ...]:
        return tuple(s.slot_id for s in self.slots)

    def startup(self, startup_id: str) -> Participant:
        return _by_id(self.startups, startup_id)

    def investor(self, investor_id: str) -> Participant:
        return _by_id(self.investors, investor_id)

    def label_of(self, participant_id: str) -> str:
        """The name of a startup or an investor at this event (its id when it has no name)."""
        for p in (*self.startups, *self.investors):
            if p.participant_id == participant_id:
                return p.label
        return participant_id

    def labels(self) -> dict[str, str]:
        """Every participant's id → name (or id)."""
        return {p.participant_id: p.label for p in (*self.startups, *self.investors)}

    def unscored(self) -> list[Pair]:
        """Pairs that are neither scored nor a conflict (what a ranking model would be asked about)."""
        return [
            (s.participant_id, i.participant_id)
            for s in self.startups
            for i in self.investors
            if (s.participant_id, i.participant_id) not in self.scores
            and (s.participant_id, i.participant_id) not in self.conflicts
        ]

    def allowed(self, pair: Pair) -> bool:
        """A pair may meet when it is not a conflict and has a score (contract: 'allowed')."""
        return pair not in self.conflicts and pair in self.scores


def _by_id(people: tuple[Participant, ...], pid: str) -> Participant:
    for p in people:
        if p.participant_id == pid:
            return p
    raise InvalidInputError(f"unknown participant {pid!r}", field="participant_id")


def load_event(
    path: Path,
    *,
    pair_scorer: PairScorer | None = None,
    wish_bonus: float = DEFAULT_WISH_BONUS,
    names: Mapping[str, str] | None = None,
) -> EventProblem:
    """Read ``event.json`` from ``path``; see :func:`parse_event`."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})", field="event") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not UTF-8 text", field="event") from None
    return parse_event(raw, pair_scorer=pair_scorer, wish_bonus=wish_bonus, names=names)


def parse_event(
    raw: Any,
    *,
    pair_scorer: PairScorer | None = None,
    wish_bonus: float = DEFAULT_WISH_BONUS,
    names: Mapping[str, str] | None = None,
) -> EventProblem:
    """Validate an ``event.json`` object and resolve its defaults.

    Pairs the event gives no score for are scored by ``pair_scorer`` when one is given (NaN → not
    schedulable); without a scorer they are not schedulable, as the contract says. ``names`` (id → name,
    e.g. from the data directory or the database) names the participants the event itself does not name.
    """
    if not isinstance(raw, Mapping):
        raise InvalidInputError("event must be a JSON object", field="event")
    if not math.isfinite(wish_bonus) or wish_bonus < 0:
        raise InvalidInputError("wish bonus must be a finite number ≥ 0", field="wish_bonus")
    event_id = _text(raw, "event_id", "event_id")
    name = str(raw.get("name") or event_id)
    venue = _optional_text(raw, "venue", "venue")
    tables = raw.get("tables")
    if not isinstance(tables, int) or isinstance(tables, bool) or tables < 1:
        raise InvalidInputError("tables must be an integer ≥ 1", field="tables")
    slots = _parse_slots(raw.get("slots"))
    slot_ids = tuple(s.slot_id for s in slots)
    startups = _parse_participants(raw.get("startups"), "startups", "startup_id", slot_ids, names or {})
    investors = _parse_participants(raw.get("investors"), "investors", "investor_id", slot_ids, names or {})
    startup_ids = {p.participant_id for p in startups}
    investor_ids = {p.participant_id for p in investors}

    def pair_of(item: Any, where: str) -> Pair:
        if not isinstance(item, Mapping):
            raise InvalidInputError("must be an object", field=where)
        s = _text(item, "startup_id", f"{where}.startup_id")
        i = _text(item, "investor_id", f"{where}.investor_id")
        if s not in startup_ids:
            raise InvalidInputError(f"unknown startup {s!r}", field=f"{where}.startup_id")
        if i not in investor_ids:
            raise InvalidInputError(f"unknown investor {i!r}", field=f"{where}.investor_id")
        return (s, i)

    scores: dict[Pair, float] = {}
    for k, item in enumerate(_list(raw.get("scores"), "scores")):
        pair = pair_of(item, f"scores[{k}]")
        value = item.get("score")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInputError("score must be a finite number", field=f"scores[{k}].score")
        if pair in scores:
            raise InvalidInputError(f"duplicate score for {pair[0]}–{pair[1]}", field=f"scores[{k}]")
        scores[pair] = float(value)

    requests: dict[str, set[Pair]] = {kind: set() for kind in REQUEST_KINDS}
    for k, item in enumerate(_list(raw.get("requests"), "requests")):
        pair = pair_of(item, f"requests[{k}]")
        kind = item.get("kind")
        if kind not in REQUEST_KINDS:
            raise InvalidInputError(f"kind must be one of {', '.join(REQUEST_KINDS)}", field=f"requests[{k}].kind")
        requests[str(kind)].add(pair)
    conflicts = frozenset(
        pair_of(item, f"conflicts[{k}]") for k, item in enumerate(_list(raw.get("conflicts"), "conflicts"))
    )

    problem = EventProblem(
        event_id=event_id,
        name=name,
        tables=tables,
        slots=slots,
        startups=startups,
        investors=investors,
        scores=MappingProxyType(scores),
        must=frozenset(requests["must"]),
        # A pair both must and wish is simply a must that also earns the bonus.
        wish=frozenset(requests["wish"]),
        conflicts=conflicts,
        wish_bonus=float(wish_bonus),
        venue=venue,
    )
    return problem if pair_scorer is None else score_unscored(problem, pair_scorer)


def score_unscored(problem: EventProblem, pair_scorer: PairScorer) -> EventProblem:
    """The event with every pair it leaves unscored (and not a conflict) scored by ``pair_scorer``;
    pairs the scorer cannot score (NaN) stay unschedulable."""
    missing = problem.unscored()
    if not missing:
        return problem
    values = np.asarray(pair_scorer(missing), dtype=np.float64)
    if values.shape != (len(missing),):
        raise InvalidInputError("the ranking model returned the wrong number of scores", field="scores")
    finite = np.isfinite(values)
    model_scores = {p: float(v) for p, v, ok in zip(missing, values, finite, strict=True) if ok}
    return replace(
        problem,
        scores=MappingProxyType({**problem.scores, **model_scores}),
        scored_by_model=problem.scored_by_model | frozenset(model_scores),
    )


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{key} is required and must be a non-empty string", field=where)
    return value.strip()


def _optional_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{key} must be a string", field=where)
    return value.strip() or None


def _list(value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidInputError("must be a list", field=where)
    return value


def _parse_slots(value: Any) -> tuple[Slot, ...]:
    items = _list(value, "slots")
    if not items:
        raise InvalidInputError("at least one slot is required", field="slots")
    slots: list[Slot] = []
    seen: set[str] = set()
    zoned: bool | None = None
    for k, item in enumerate(items):
        where = f"slots[{k}]"
        if not isinstance(item, Mapping):
            raise InvalidInputError("must be an object", field=where)
        sid = _text(item, "slot_id", f"{where}.slot_id")
        if sid in seen:
            raise InvalidInputError(f"duplicate slot_id {sid!r}", field=f"{where}.slot_id")
        seen.add(sid)
        start = _datetime(item, "start", where)
        end = _datetime(item, "end", where)
        for key, stamp in (("start", start), ("end", end)):
            has_zone = stamp.utcoffset() is not None
            if zoned is None:
                zoned = has_zone
            elif has_zone != zoned:
                raise InvalidInputError(
                    f"slot {sid}: {key} {'has' if has_zone else 'has no'} time zone while earlier times "
                    f"{'have none' if has_zone else 'have one'}; give every slot a time zone, or none",
                    field=f"{where}.{key}",
                )
        if end <= start:
            raise InvalidInputError(f"slot {sid}: end must be after start", field=f"{where}.end")
        slots.append(Slot(sid, start, end))
    _check_no_overlap(slots)
    return tuple(slots)


def _check_no_overlap(slots: Sequence[Slot]) -> None:
    """A participant meets one counterpart per slot, which only means something if slots never overlap."""
    order = sorted(range(len(slots)), key=lambda k: (slots[k].start, slots[k].end, k))
    for before, after in itertools.pairwise(order):
        a, b = slots[before], slots[after]
        if b.start < a.end:
            later = max(before, after)
            other = a if later == after else b
            same = (a.start, a.end) == (b.start, b.end)
            raise InvalidInputError(
                f"slot {slots[later].slot_id} ({_span(slots[later])}) "
                f"{'repeats' if same else 'overlaps'} slot {other.slot_id} ({_span(other)})",
                field=f"slots[{later}].start",
            )


def _span(slot: Slot) -> str:
    return f"{slot.start.isoformat(timespec='minutes')}–{slot.end.strftime('%H:%M')}"


def _datetime(item: Mapping[str, Any], key: str, where: str) -> datetime:
    text = _text(item, key, f"{where}.{key}")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{text!r} is not an ISO date-time", field=f"{where}.{key}") from None


def _parse_participants(
    value: Any, where: str, id_key: str, slot_ids: tuple[str, ...], names: Mapping[str, str]
) -> tuple[Participant, ...]:
    known = set(slot_ids)
    people: list[Participant] = []
    seen: set[str] = set()
    for k, item in enumerate(_list(value, where)):
        at = f"{where}[{k}]"
        if not isinstance(item, Mapping):
            raise InvalidInputError("must be an object", field=at)
        pid = _text(item, id_key, f"{at}.{id_key}")
        if pid in seen:
            raise InvalidInputError(f"duplicate {id_key} {pid!r}", field=f"{at}.{id_key}")
        seen.add(pid)
        available_raw = item.get("available")
        if available_raw is None:
            available = slot_ids
        else:
            listed = _list(available_raw, f"{at}.available")
            unknown = [s for s in listed if s not in known]
            if unknown:
                raise InvalidInputError(f"unknown slot {unknown[0]!r}", field=f"{at}.available")
            wanted = set(listed)
            available = tuple(s for s in slot_ids if s in wanted)
        lo = _count(item, "min_meetings", 0, at)
        hi = _count(item, "max_meetings", len(slot_ids), at)
        name = _optional_text(item, "name", f"{at}.name") or names.get(pid)
        people.append(Participant(pid, available, lo, hi, name))
    return tuple(people)


def _count(item: Mapping[str, Any], key: str, default: int, at: str) -> int:
    value = item.get(key)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInputError(f"{key} must be an integer ≥ 0", field=f"{at}.{key}")
    return value


def event_to_dict(problem: EventProblem) -> dict[str, Any]:
    """The inverse of :func:`parse_event` (model-scored pairs are written as explicit scores)."""
    out: dict[str, Any] = {
        "event_id": problem.event_id,
        "name": problem.name,
        "tables": problem.tables,
        "slots": [
            {
                "slot_id": s.slot_id,
                "start": s.start.isoformat(timespec="minutes"),
                "end": s.end.isoformat(timespec="minutes"),
            }
            for s in problem.slots
        ],
        "startups": [_participant_dict(p, "startup_id") for p in problem.startups],
        "investors": [_participant_dict(p, "investor_id") for p in problem.investors],
        "scores": [{"startup_id": s, "investor_id": i, "score": v} for (s, i), v in sorted(problem.scores.items())],
        "requests": [{"startup_id": s, "investor_id": i, "kind": "must"} for s, i in sorted(problem.must)]
        + [{"startup_id": s, "investor_id": i, "kind": "wish"} for s, i in sorted(problem.wish)],
        "conflicts": [{"startup_id": s, "investor_id": i} for s, i in sorted(problem.conflicts)],
    }
    if problem.venue:
        out["venue"] = problem.venue
    return out


def _participant_dict(p: Participant, id_key: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        id_key: p.participant_id,
        "available": list(p.available),
        "min_meetings": p.min_meetings,
        "max_meetings": p.max_meetings,
    }
    if p.name:
        out["name"] = p.name
    return out
