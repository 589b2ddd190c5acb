"""The next roadshow after the history, as an ``event.json`` (scores omitted: the ranking fills them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.synthetic._config import HISTORY_END, SizeSpec
from matcher.synthetic._investors import InvestorWorld
from matcher.synthetic._startups import StartupWorld

IntArray = npt.NDArray[np.int64]

SLOTS = 12
SLOT_MINUTES = 20
NEXT_EVENT_START = datetime(2026, 1, 15, 14, 0)


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


def make_next_event(rng: np.random.Generator, spec: SizeSpec, s: StartupWorld, inv: InvestorWorld) -> dict[str, Any]:
    slots = []
    for k in range(SLOTS):
        start = NEXT_EVENT_START + timedelta(minutes=SLOT_MINUTES * k)
        stop = start + timedelta(minutes=SLOT_MINUTES)
        slots.append({"slot_id": f"s{k + 1:02d}", "start": f"{start:%Y-%m-%dT%H:%M}",
                      "end": f"{stop:%Y-%m-%dT%H:%M}"})
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
        row |= {"min_meetings": lo, "max_meetings": 6}
        startup_rows.append(row)
    investor_rows: list[dict[str, Any]] = []
    for k, av, hi in zip(guests.tolist(), g_avail, g_max.tolist(), strict=True):
        row = {"investor_id": inv.ids[k]}
        if av is not None:
            row["available"] = av
        row["max_meetings"] = hi
        investor_rows.append(row)

    # Requests and conflicts on disjoint pairs; a `must` pair shares at least two available slots and
    # every startup and investor carries at most one `must`, so the event stays feasible.
    s_sets = [set(slot_ids if a is None else a) for a in s_avail]
    g_sets = [set(slot_ids if a is None else a) for a in g_avail]
    pairs = [(a, b) for a in range(n_s) for b in range(guests.size)]
    order = rng.permutation(len(pairs)).tolist()
    n_must, n_wish, n_conf = max(3, n_s // 7), max(5, n_s // 3), max(3, n_s // 7)
    must_s: set[int] = set()
    must_g: set[int] = set()
    requests: list[dict[str, str]] = []
    conflicts: list[dict[str, str]] = []
    for p in order:
        a, b = pairs[p]
        pair = {"startup_id": s.ids[int(startups[a])], "investor_id": inv.ids[int(guests[b])]}
        if len(must_s) < n_must and a not in must_s and b not in must_g and len(s_sets[a] & g_sets[b]) >= 2:
            must_s.add(a)
            must_g.add(b)
            requests.append(pair | {"kind": "must"})
        elif sum(r["kind"] == "wish" for r in requests) < n_wish and (a + b) % 2 == 0:
            requests.append(pair | {"kind": "wish"})
        elif len(conflicts) < n_conf:
            conflicts.append(pair)
        else:
            continue
        if len(must_s) >= n_must and len(conflicts) >= n_conf and len(requests) >= n_must + n_wish:
            break
    return {
        "event_id": f"{NEXT_EVENT_START:%Y-%m}-lotus-01",
        "name": f"智造莲城 创新成果路演 {NEXT_EVENT_START:%Y}年第1期",
        "tables": spec.next_event_tables,
        "slots": slots,
        "startups": startup_rows,
        "investors": investor_rows,
        "requests": requests,
        "conflicts": conflicts,
    }
