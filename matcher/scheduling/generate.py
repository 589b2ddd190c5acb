"""Seeded generator of realistic ``event.json`` problems, for benchmarks, demos and tests.

Each startup has one sector and each investor prefers one to three; a pair's score blends that fit with
noise, and only each startup's top ``candidates`` investors are scored (as the ranking model's candidate
stage would return). About a third of participants arrive late or leave early; a few pairs carry must or
wish requests, a few are conflicts. Mins are kept modest so generated events are feasible.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from matcher.errors import InvalidInputError

N_THEMES = 9


def generate_event(
    n_startups: int,
    n_investors: int,
    n_slots: int,
    *,
    seed: int = 0,
    candidates: int = 40,
    tables: int | None = None,
    slot_minutes: int = 20,
    event_id: str | None = None,
    availability: str = "windows",
) -> dict[str, Any]:
    """``availability``: "windows" (most people stay all day, some arrive late or leave early) or
    "scattered" (everyone is free in a random ~60% of the slots: harder, the bound is no longer tight)."""
    if availability not in ("windows", "scattered"):
        raise InvalidInputError(f"unknown availability pattern {availability!r}", field="availability")
    rng = np.random.default_rng(seed)
    start = datetime(2026, 12, 1, 9, 0)
    slots = [
        {
            "slot_id": f"t{k + 1:02d}",
            "start": (start + timedelta(minutes=slot_minutes * k)).isoformat(timespec="minutes"),
            "end": (start + timedelta(minutes=slot_minutes * (k + 1))).isoformat(timespec="minutes"),
        }
        for k in range(n_slots)
    ]
    slot_ids = [s["slot_id"] for s in slots]

    def window() -> list[str] | None:
        if availability == "scattered":
            return [s for s in slot_ids if rng.random() < 0.6]
        if rng.random() < 0.7:
            return None
        width = int(rng.integers(1, max(2, n_slots // 3 + 1)))
        late = bool(rng.random() < 0.5)
        return slot_ids[width:] if late else slot_ids[: n_slots - width]

    startup_ids = [f"S{k + 1}" for k in range(n_startups)]
    investor_ids = [f"I{k + 1}" for k in range(n_investors)]
    startups = []
    for sid in startup_ids:
        cap = int(rng.integers(min(3, n_slots), min(8, n_slots) + 1))
        entry: dict[str, Any] = {"startup_id": sid, "max_meetings": cap}
        available = window()
        if available is not None:
            entry["available"] = available
        if rng.random() < 0.3:
            entry["min_meetings"] = 1
        startups.append(entry)
    investors = []
    for iid in investor_ids:
        entry = {"investor_id": iid, "max_meetings": int(rng.integers(max(1, n_slots // 2), n_slots + 1))}
        available = window()
        if available is not None:
            entry["available"] = available
        investors.append(entry)

    startup_theme = rng.integers(0, N_THEMES, n_startups)
    prefers = np.zeros((n_investors, N_THEMES), dtype=np.bool_)
    for row in range(n_investors):
        prefers[row, rng.choice(N_THEMES, size=int(rng.integers(1, 4)), replace=False)] = True
    fit = prefers[:, startup_theme].T.astype(np.float64)  # startups × investors
    score = np.round(0.55 * fit + 0.45 * rng.beta(2.0, 3.0, size=fit.shape), 4)
    k = min(candidates, n_investors)
    top = np.argsort(-score, axis=1, kind="stable")[:, :k]
    scores = [
        {"startup_id": startup_ids[s], "investor_id": investor_ids[int(i)], "score": float(score[s, i])}
        for s in range(n_startups)
        for i in top[s]
    ]

    requests: list[dict[str, str]] = []
    conflicts: list[dict[str, str]] = []
    must_load = np.zeros(n_investors, dtype=np.int64)
    for s in range(n_startups):
        draw = rng.random()
        if draw < 0.03 and startups[s].get("available") is None:
            i = int(top[s, 0])
            if investors[i].get("available") is None and must_load[i] < 2:
                must_load[i] += 1
                requests.append({"startup_id": startup_ids[s], "investor_id": investor_ids[i], "kind": "must"})
        elif draw < 0.15:
            i = int(top[s, int(rng.integers(0, k))])
            requests.append({"startup_id": startup_ids[s], "investor_id": investor_ids[i], "kind": "wish"})
        if rng.random() < 0.02:
            i = int(top[s, -1])
            conflicts.append({"startup_id": startup_ids[s], "investor_id": investor_ids[i]})

    return {
        "event_id": event_id or f"gen-{n_startups}x{n_investors}x{n_slots}-{seed}",
        "name": f"Generated roadshow {n_startups}×{n_investors}×{n_slots}",
        "tables": tables if tables is not None else max(1, int(np.ceil(0.8 * n_investors))),
        "slots": slots,
        "startups": startups,
        "investors": investors,
        "scores": scores,
        "requests": requests,
        "conflicts": conflicts,
    }
