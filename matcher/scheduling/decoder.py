"""Assignment → meetings, with table numbers.

Tables are numbered after solving, slot by slot: confirmed meetings keep their table, then each investor
sits at a "home" table when it has one (the investors with the most meetings get tables 1, 2, …, so most
investors stay put while startups walk), and everyone else takes the lowest free table.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from matcher.scheduling.encoder import EncodedProblem
from matcher.scheduling.problem import EventProblem, Pair
from matcher.scheduling.schedule import Meeting
from matcher.scheduling.solvers.base import Assignment


def decode(
    problem: EventProblem,
    encoded: EncodedProblem,
    assignment: Assignment,
    *,
    fixed_tables: Mapping[Pair, int] | None = None,
) -> tuple[Meeting, ...]:
    fixed_tables = fixed_tables or {}
    chosen = np.nonzero(assignment.selected)[0]
    vp = encoded.var_pair[chosen]
    vt = encoded.var_slot[chosen]
    vs = encoded.pair_startup[vp]
    vi = encoded.pair_investor[vp]

    per_investor = np.bincount(vi, minlength=encoded.n_investors)
    # Most meetings first, then input order: a stable, deterministic ranking.
    ranked = np.lexsort((np.arange(encoded.n_investors), -per_investor))
    home: dict[int, int] = {
        int(i): table + 1 for table, i in enumerate(ranked[: encoded.tables].tolist()) if per_investor[i] > 0
    }

    meetings: list[Meeting] = []
    for t in range(encoded.n_slots):
        in_slot = np.nonzero(vt == t)[0]
        in_slot = in_slot[np.lexsort((vs[in_slot], vi[in_slot]))]
        taken: set[int] = set()
        table_of: dict[int, int] = {}
        pending: list[int] = []
        for k in in_slot.tolist():
            pair = (encoded.startup_ids[vs[k]], encoded.investor_ids[vi[k]])
            if pair in fixed_tables and fixed_tables[pair] not in taken:
                table_of[k] = fixed_tables[pair]
                taken.add(table_of[k])
            else:
                pending.append(k)
        waiting: list[int] = []
        for k in pending:
            table = home.get(int(vi[k]))
            if table is not None and table not in taken:
                table_of[k] = table
                taken.add(table)
            else:
                waiting.append(k)
        free = (n for n in range(1, encoded.tables + 1) if n not in taken)
        for k in waiting:
            table_of[k] = next(free)
        for k, table in table_of.items():
            s_id = encoded.startup_ids[vs[k]]
            i_id = encoded.investor_ids[vi[k]]
            meetings.append(Meeting(encoded.slot_ids[t], table, s_id, i_id, problem.scores[(s_id, i_id)]))
    slot_order = {s: k for k, s in enumerate(encoded.slot_ids)}
    meetings.sort(key=lambda m: (slot_order[m.slot_id], m.table))
    return tuple(meetings)
