"""What every handout shares: who organises, the local time of each slot, and each meeting seen from one
participant (the counterpart's name, the table, the place)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matcher.errors import InvalidInputError
from matcher.scheduling.problem import EventProblem, Participant
from matcher.scheduling.schedule import Meeting

if TYPE_CHECKING:
    from matcher.io import DataSet

DEFAULT_TZ = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Organiser:
    """The ORGANIZER of every calendar entry. The default mailbox is a reserved ``.invalid`` address on
    purpose: calendar apps need one, and a deployment sets its own (``ROADSHOW_ORGANISER_EMAIL``)."""

    name: str = "智造莲城路演办公室"
    email: str = "noreply@roadshow.invalid"


DEFAULT_ORGANISER = Organiser()


def participant_names(data: DataSet) -> dict[str, str]:
    """Startup, investor and bank id → name, from a data directory or the database's frames."""
    names = dict(zip(data.startups["startup_id"].to_list(), data.startups["name"].to_list(), strict=True))
    names.update(zip(data.investors["investor_id"].to_list(), data.investors["name"].to_list(), strict=True))
    return {k: v for k, v in names.items() if v}


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone {tz!r}", field="tz") from None


def local_times(problem: EventProblem, tz: str) -> dict[str, tuple[datetime, datetime]]:
    """Each slot's start and end as wall-clock times of the event's zone (plain times are taken as such)."""
    where = zone(tz)

    def local(value: datetime) -> datetime:
        return value.astimezone(where).replace(tzinfo=None) if value.utcoffset() is not None else value

    return {s.slot_id: (local(s.start), local(s.end)) for s in problem.slots}


def location(problem: EventProblem, table: int) -> str:
    return f"{problem.venue} · {table}号桌" if problem.venue else f"{table}号桌"


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One meeting in one participant's agenda."""

    slot_id: str
    start: datetime
    end: datetime
    table: int
    counterpart_id: str
    counterpart: str
    startup_id: str
    investor_id: str


@dataclass(frozen=True, slots=True)
class Agenda:
    side: str  # "startup" or "investor"
    participant: Participant
    items: tuple[AgendaItem, ...]


def agendas(problem: EventProblem, meetings: Sequence[Meeting], tz: str) -> list[Agenda]:
    """Every investor's, then every startup's meetings in time order (empty agendas included)."""
    times = local_times(problem, tz)
    order = {sid: k for k, sid in enumerate(problem.slot_ids)}
    mine: dict[str, list[Meeting]] = defaultdict(list)
    for m in meetings:
        mine[m.investor_id].append(m)
        mine[m.startup_id].append(m)
    out: list[Agenda] = []
    for side, people in (("investor", problem.investors), ("startup", problem.startups)):
        for p in people:
            items = []
            for m in sorted(mine.get(p.participant_id, ()), key=lambda m: order[m.slot_id]):
                other = m.startup_id if side == "investor" else m.investor_id
                start, end = times[m.slot_id]
                items.append(
                    AgendaItem(m.slot_id, start, end, m.table, other, problem.label_of(other), m.startup_id,
                               m.investor_id)
                )
            out.append(Agenda(side, p, tuple(items)))
    return out


def pair_label(problem: EventProblem, m: Meeting) -> str:
    return f"{problem.label_of(m.startup_id)} × {problem.label_of(m.investor_id)}"
