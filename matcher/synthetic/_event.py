"""Roadshows as ``event.json``: the next one after the history (scores omitted: the ranking fills them)
and the past ones, for benchmarks that replay the history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.errors import NotFoundError
from matcher.synthetic._config import HISTORY_END, SizeSpec
from matcher.synthetic._investors import InvestorWorld
from matcher.synthetic._startups import StartupWorld
from matcher.synthetic._truth import Truth
from matcher.synthetic._wishes import apply_wishes, draw_wishes

IntArray = npt.NDArray[np.int64]

SLOTS = 12
SLOT_MINUTES = 20
NEXT_EVENT_START = datetime(2026, 1, 15, 14, 0)
STARTUP_MAX_MEETINGS = 6
GUEST_MAX_MEETINGS = 8


def _availability(rng: np.random.Generator, n: int, slot_ids: list[str]) -> list[list[str] | None]:
    """Most participants stay all afternoon (None = every slot); 30% arrive late, leave early or step out."""
    out: list[list[str] | None] = []
    gaps = rng.random(n) < 0.3
    where = rng.integers(0, 3, size=n)
    length = rng.integers(2, 5, size=n)
    middle = rng.integers(2, SLOTS - 5, size=n)
    for gap, w, g, mid in zip(gaps.tolist(), where.tolist(), length.tolist(), middle.tolist(), strict=True):
        if not gap:
            out.append(None)
            continue
        lo = 0 if w == 0 else SLOTS - g if w == 1 else mid
        out.append([sid for k, sid in enumerate(slot_ids) if not lo <= k < lo + g])
    return out


def event_slots(day: date) -> list[dict[str, str]]:
    """The afternoon grid of a roadshow day: ``SLOTS`` slots of ``SLOT_MINUTES`` from 14:00."""
    first = datetime.combine(day, NEXT_EVENT_START.time())
    slots = []
    for k in range(SLOTS):
        start = first + timedelta(minutes=SLOT_MINUTES * k)
        stop = start + timedelta(minutes=SLOT_MINUTES)
        slots.append({"slot_id": f"s{k + 1:02d}", "start": f"{start:%Y-%m-%dT%H:%M}",
                      "end": f"{stop:%Y-%m-%dT%H:%M}"})
    return slots


def make_next_event(rng: np.random.Generator, spec: SizeSpec, s: StartupWorld, inv: InvestorWorld,
                    truth: Truth) -> dict[str, Any]:
    slots = event_slots(NEXT_EVENT_START.date())
    slot_ids = [x["slot_id"] for x in slots]

    end = np.datetime64(HISTORY_END, "D")
    eligible = (s.stage_end < 9) & (s.founded <= end - np.timedelta64(30, "D"))
    w = np.where(eligible, np.exp(0.3 * s.quality), 0.0)
    n_s = min(spec.next_event_startups, int(eligible.sum()))
    startups = np.sort(rng.choice(len(s.ids), size=n_s, replace=False, p=w / w.sum()))
    inv_idx, bank_idx = np.flatnonzero(~inv.is_bank), np.flatnonzero(inv.is_bank)
    guests = np.concatenate([
        np.sort(rng.choice(inv_idx, size=min(spec.next_event_investors, inv_idx.size), replace=False,
                           p=inv.activity[inv_idx] / inv.activity[inv_idx].sum())),
        np.sort(rng.choice(bank_idx, size=min(spec.next_event_banks, bank_idx.size), replace=False,
                           p=inv.activity[bank_idx] / inv.activity[bank_idx].sum())),
    ])
    s_avail = _availability(rng, n_s, slot_ids)
    g_avail = _availability(rng, guests.size, slot_ids)
    s_min = np.where(rng.random(n_s) < 0.25, 2, 0)
    g_max = rng.integers(8, 13, size=guests.size)

    startup_rows: list[dict[str, Any]] = []
    for k, av, lo in zip(startups.tolist(), s_avail, s_min.tolist(), strict=True):
        row: dict[str, Any] = {"startup_id": s.ids[k]}
        if av is not None:
            row["available"] = av
        row |= {"min_meetings": lo, "max_meetings": STARTUP_MAX_MEETINGS}
        startup_rows.append(row)
    investor_rows: list[dict[str, Any]] = []
    for k, av, hi in zip(guests.tolist(), g_avail, g_max.tolist(), strict=True):
        row = {"investor_id": inv.ids[k]}
        if av is not None:
            row["available"] = av
        row["max_meetings"] = hi
        investor_rows.append(row)
    event: dict[str, Any] = {
        "event_id": f"{NEXT_EVENT_START:%Y-%m}-lotus-01",
        "name": f"智造莲城 创新成果路演 {NEXT_EVENT_START:%Y}年第1期",
        "tables": spec.next_event_tables,
        "slots": slots,
        "startups": startup_rows,
        "investors": investor_rows,
    }
    return apply_wishes(event, draw_wishes(truth, event, rng))


def roadshow_event(truth: Truth, event_id: str) -> dict[str, Any]:
    """A past roadshow of the history as an ``event.json``: the afternoon grid of its day, the startups
    that pitched (at most ``STARTUP_MAX_MEETINGS`` meetings each) and the institutions that came
    (at most ``GUEST_MAX_MEETINGS``), each at its own table, everyone available throughout. No
    scores, requests or conflicts: add wishes with ``draw_wishes`` and ``apply_wishes``.
    An unknown event raises ``NotFoundError``."""
    rows = truth.attendance.filter(pl.col("event_id") == event_id)
    if rows.is_empty():
        raise NotFoundError(f"unknown event_id: {event_id} (not a roadshow of this world's history)")
    startups = rows.filter(pl.col("side") == "startup")["participant_id"].to_list()
    investors = rows.filter(pl.col("side") == "investor")["participant_id"].to_list()
    return {
        "event_id": event_id,
        "name": event_id,
        "tables": len(investors),
        "slots": event_slots(rows["held_on"][0]),
        "startups": [{"startup_id": sid, "max_meetings": STARTUP_MAX_MEETINGS} for sid in startups],
        "investors": [{"investor_id": iid, "max_meetings": GUEST_MAX_MEETINGS} for iid in investors],
    }
