"""The printable agenda (HTML, A4): the grid on a landscape page, then one page per participant, with names."""

from __future__ import annotations

from importlib.resources import files

from jinja2 import Environment, select_autoescape

from matcher.scheduling.handout import DEFAULT_TZ, agendas, local_times, pair_label
from matcher.scheduling.problem import EventProblem
from matcher.scheduling.schedule import Schedule

MEDIA_TYPE = "text/html; charset=utf-8"


def agenda_html(problem: EventProblem, schedule: Schedule, tz: str = DEFAULT_TZ) -> bytes:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string((files("matcher.scheduling") / "templates" / "agenda.html").read_text("utf-8"))
    times = local_times(problem, tz)
    cell_of = {(m.slot_id, m.table): pair_label(problem, m) for m in schedule.meetings}
    tables = range(1, problem.tables + 1)
    grid = [
        {
            "time": f"{times[s.slot_id][0]:%H:%M}–{times[s.slot_id][1]:%H:%M}",
            "cells": [cell_of.get((s.slot_id, t), "") for t in tables],
        }
        for s in problem.slots
    ]
    days = sorted({start.date().isoformat() for start, _ in times.values()})
    return template.render(
        problem=problem,
        day=" / ".join(days),
        meetings=len(schedule.meetings),
        tables=tables,
        grid=grid,
        agendas=agendas(problem, schedule.meetings, tz),
    ).encode("utf-8")
