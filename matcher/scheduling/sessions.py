"""Pitch sessions: group registered startups into themed roadshow sessions and invite investors and banks.

1. Themes: each startup's sector is mapped to the zone's taxonomy (unknown labels stay their own theme).
   A theme with at least half a session of startups gets ``ceil(n / capacity)`` sessions of near-equal
   size, cut along the startups sorted by stage so early- and growth-stage pitches sit together; smaller
   themes are packed (largest first) into mixed sessions.
2. Invitations: every investor gets a fit to every session (mean of its fit to the session's startups,
   from the ranking model when a scorer is given, else from declared sector and stage preferences). A MILP
   then picks up to ``investors_per_session`` investors and ``banks_per_session`` banks per session, each
   invited to at most ``max_sessions_per_investor`` sessions. Balance: every session gets at least its
   equal share of the seats available, and the weakest session's total fit counts ``balance_weight``
   times extra in the objective (total fit), so no session is left with the leftovers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from matcher.domain import STAGE_ORDER
from matcher.errors import InvalidInputError
from matcher.io import DataSet
from matcher.scheduling.problem import PairScorer
from matcher.scheduling.solvers._highs import SparseModel, maximise
from matcher.taxonomy import sector_code, sector_label

MIXED = "mixed"
SECTOR_WEIGHT = 0.6
STAGE_WEIGHT = 0.4
UNKNOWN_STAGE_FIT = 0.5


@dataclass(frozen=True, slots=True)
class PitchSession:
    session_id: str
    theme: str
    theme_label: str
    startup_ids: tuple[str, ...]
    investor_ids: tuple[str, ...]
    bank_ids: tuple[str, ...]
    duration_minutes: int
    fit: float
    """Total fit of everyone invited."""


@dataclass(frozen=True, slots=True)
class SessionPlan:
    sessions: tuple[PitchSession, ...]
    objective: float
    upper_bound: float
    names: Mapping[str, str] = field(default_factory=dict)
    """Startup, investor and bank names by id (what the CSV files print beside the ids)."""

    def sessions_frame(self) -> pl.DataFrame:
        rows = [
            {"session_id": s.session_id, "theme": s.theme, "theme_label": s.theme_label,
             "duration_minutes": s.duration_minutes, "order": k + 1, "startup_id": sid,
             "startup_name": self.names.get(sid, sid)}
            for s in self.sessions
            for k, sid in enumerate(s.startup_ids)
        ]
        schema = {"session_id": pl.Utf8, "theme": pl.Utf8, "theme_label": pl.Utf8, "duration_minutes": pl.Int64,
                  "order": pl.Int64, "startup_id": pl.Utf8, "startup_name": pl.Utf8}
        return pl.DataFrame(rows, schema=schema)

    def invitations_frame(self) -> pl.DataFrame:
        rows = [
            {"session_id": s.session_id, "investor_id": iid, "kind": kind, "investor_name": self.names.get(iid, iid),
             "theme_label": s.theme_label}
            for s in self.sessions
            for kind, ids in (("investor", s.investor_ids), ("bank", s.bank_ids))
            for iid in ids
        ]
        schema = {"session_id": pl.Utf8, "investor_id": pl.Utf8, "kind": pl.Utf8, "investor_name": pl.Utf8,
                  "theme_label": pl.Utf8}
        return pl.DataFrame(rows, schema=schema)

    def warnings(self) -> list[str]:
        """Sessions left without any bank or any investor: the organiser must know before inviting."""
        out: list[str] = []
        for s in self.sessions:
            missing = [what for what, ids in (("bank", s.bank_ids), ("investor", s.investor_ids)) if not ids]
            if missing:
                out.append(
                    f"session {s.session_id} ({s.theme_label}, {len(s.startup_ids)} pitches) has no "
                    + " and no ".join(missing)
                    + " invited: raise --max-sessions, lower the seats per session, or add "
                    + " and ".join(f"{m}s" for m in missing)
                )
        return out

    def summary(self) -> dict[str, object]:
        fits = [s.fit for s in self.sessions]
        return {
            "sessions": len(self.sessions),
            "startups": sum(len(s.startup_ids) for s in self.sessions),
            "invitations": sum(len(s.investor_ids) + len(s.bank_ids) for s in self.sessions),
            "objective": round(self.objective, 6),
            "upper_bound": round(self.upper_bound, 6),
            "min_session_fit": round(min(fits), 6) if fits else 0.0,
            "max_session_fit": round(max(fits), 6) if fits else 0.0,
            "sessions_without_bank": sum(1 for s in self.sessions if not s.bank_ids),
            "sessions_without_investor": sum(1 for s in self.sessions if not s.investor_ids),
            "warnings": self.warnings(),
        }


def _codes(labels: pl.Series) -> dict[str, str]:
    """Taxonomy code of each distinct label (the label itself when unknown)."""
    return {label: sector_code(label) or label.strip().lower() for label in labels.drop_nulls().unique().to_list()}


def startup_themes(startups: pl.DataFrame) -> pl.DataFrame:
    mapping = _codes(startups["sector"])
    return startups.select(
        "startup_id",
        pl.col("sector").replace_strict(mapping, default=None).fill_null("other").alias("theme"),
        "stage",
    )


def declared_fit(startups: pl.DataFrame, investors: pl.DataFrame) -> pl.DataFrame:
    """Fit in [0, 1] of every (startup, investor) pair from declared sector and stage preferences."""
    themed = startup_themes(startups)
    labels = investors["sectors"].explode()
    mapping = _codes(labels)
    prefs = investors.select(
        "investor_id",
        "kind",
        pl.col("sectors").list.eval(pl.element().replace_strict(mapping, default=pl.element())).alias("codes"),
        "stages",
    )
    return themed.join(prefs, how="cross").select(
        "startup_id",
        "investor_id",
        "kind",
        (
            SECTOR_WEIGHT * pl.col("codes").list.contains(pl.col("theme")).fill_null(False).cast(pl.Float64)
            + STAGE_WEIGHT
            * pl.when(pl.col("stages").list.len().fill_null(0) == 0)
            .then(UNKNOWN_STAGE_FIT)
            .otherwise(pl.col("stages").list.contains(pl.col("stage")).fill_null(False).cast(pl.Float64))
        ).alias("fit"),
    )


def group_startups(startups: pl.DataFrame, *, capacity: int) -> list[tuple[str, list[str]]]:
    """(theme, startup ids in pitch order) per session."""
    order = {s.value: k for k, s in enumerate(STAGE_ORDER)}
    themed = startup_themes(startups).with_columns(
        pl.col("stage").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("stage_rank")
    ).sort("theme", "stage_rank", "startup_id")
    by_theme = {
        theme: ids
        for theme, ids in themed.group_by("theme", maintain_order=True)
        .agg(pl.col("startup_id"))
        .iter_rows()
    }
    sessions: list[tuple[str, list[str]]] = []
    leftovers: list[tuple[str, list[str]]] = []
    for theme in sorted(by_theme, key=lambda t: (-len(by_theme[t]), t)):
        ids = list(by_theme[theme])
        if 2 * len(ids) < capacity:
            leftovers.append((theme, ids))
            continue
        n = math.ceil(len(ids) / capacity)
        sessions.extend((theme, list(chunk)) for chunk in np.array_split(np.array(ids, dtype=object), n))
    bins: list[list[str]] = []
    for _, ids in leftovers:  # already largest first: first-fit decreasing
        for b in bins:
            if len(b) + len(ids) <= capacity:
                b.extend(ids)
                break
        else:
            bins.append(list(ids))
    sessions.extend((MIXED, b) for b in bins)
    return sessions


def plan_sessions(
    data: DataSet,
    *,
    startup_ids: Sequence[str] | None = None,
    capacity: int = 8,
    pitch_minutes: int = 8,
    qa_minutes: int = 7,
    investors_per_session: int = 6,
    banks_per_session: int = 2,
    max_sessions_per_investor: int = 2,
    balance_weight: float = 1.0,
    pair_scorer: PairScorer | None = None,
    time_limit: float = 30.0,
) -> SessionPlan:
    """Plan themed pitch sessions for ``startup_ids`` (default: every startup in ``data``)."""
    for name, value in (("capacity", capacity), ("investors_per_session", investors_per_session),
                        ("max_sessions_per_investor", max_sessions_per_investor)):
        if value < 1:
            raise InvalidInputError("must be at least 1", field=name)
    if banks_per_session < 0 or pitch_minutes < 1 or qa_minutes < 0:
        raise InvalidInputError("session lengths and bank seats cannot be negative", field="sessions")
    startups = data.startups
    if startup_ids is not None:
        unknown = sorted(set(startup_ids) - set(startups["startup_id"].to_list()))
        if unknown:
            raise InvalidInputError(f"unknown startup {unknown[0]!r}", field="startup_ids")
        startups = startups.filter(pl.col("startup_id").is_in(list(startup_ids)))
    if startups.is_empty():
        raise InvalidInputError("no startups to plan sessions for", field="startups")
    investors = data.investors.sort("investor_id")
    groups = group_startups(startups, capacity=capacity)

    fit = declared_fit(startups, investors)
    if pair_scorer is not None:
        pairs = list(zip(fit["startup_id"].to_list(), fit["investor_id"].to_list(), strict=True))
        scored = np.asarray(pair_scorer(pairs), dtype=np.float64)
        fit = fit.with_columns(pl.Series("fit", np.where(np.isfinite(scored), scored, 0.0)))
    session_of = pl.DataFrame(
        {
            "startup_id": [s for _, ids in groups for s in ids],
            "session": [k for k, (_, ids) in enumerate(groups) for _ in ids],
        },
        schema={"startup_id": pl.Utf8, "session": pl.Int64},
    )
    inv_ids = investors["investor_id"].to_list()
    is_bank = (investors["kind"] == "bank").fill_null(False).to_numpy()
    session_fit = (
        fit.join(session_of, on="startup_id")
        .group_by("investor_id", "session")
        .agg(pl.col("fit").mean())
    )
    n_i, n_k = len(inv_ids), len(groups)
    matrix = np.zeros((n_i, n_k))
    inv_pos = {iid: k for k, iid in enumerate(inv_ids)}
    rows = session_fit.select(
        pl.col("investor_id").replace_strict(inv_pos, return_dtype=pl.Int64), "session", "fit"
    ).to_numpy()
    if rows.size:
        matrix[rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)] = rows[:, 2]

    chosen, objective, bound = _invite(
        matrix,
        is_bank,
        investors_per_session=investors_per_session,
        banks_per_session=banks_per_session,
        max_sessions=max_sessions_per_investor,
        balance_weight=balance_weight,
        time_limit=time_limit,
    )
    sessions: list[PitchSession] = []
    for k, (theme, ids) in enumerate(groups):
        invited = np.nonzero(chosen[:, k])[0]
        sessions.append(
            PitchSession(
                session_id=f"P{k + 1:02d}",
                theme=theme,
                theme_label="综合专场" if theme == MIXED else sector_label(theme),
                startup_ids=tuple(ids),
                investor_ids=tuple(inv_ids[j] for j in invited if not is_bank[j]),
                bank_ids=tuple(inv_ids[j] for j in invited if is_bank[j]),
                duration_minutes=len(ids) * (pitch_minutes + qa_minutes),
                fit=round(float(matrix[invited, k].sum()), 6),
            )
        )
    names = dict(zip(startups["startup_id"].to_list(), startups["name"].to_list(), strict=True))
    names.update(zip(investors["investor_id"].to_list(), investors["name"].to_list(), strict=True))
    return SessionPlan(tuple(sessions), objective, bound, names)


def _invite(
    fit: np.ndarray,
    is_bank: np.ndarray,
    *,
    investors_per_session: int,
    banks_per_session: int,
    max_sessions: int,
    balance_weight: float,
    time_limit: float,
) -> tuple[np.ndarray, float, float]:
    """x[j, k] = 1 when investor j is invited to session k; plus t ≤ each session's total fit."""
    n_i, n_k = fit.shape
    n = n_i * n_k
    inv = np.repeat(np.arange(n_i), n_k)
    ses = np.tile(np.arange(n_k), n_i)
    model = SparseModel(n + 1)
    bank = is_bank[inv]
    cols = np.arange(n, dtype=np.int64)
    # Balance in numbers: every session gets at least its equal share of the seats there are to give.
    n_banks = int(is_bank.sum())
    for mask, quota, people in ((~bank, investors_per_session, n_i - n_banks), (bank, banks_per_session, n_banks)):
        share = min(quota, people * max_sessions // max(n_k, 1))
        model.add_group_rows(
            ses[mask], np.full(n_k, float(share)), np.full(n_k, float(quota)), columns=cols[mask]
        )
    model.add_group_rows(inv, np.zeros(n_i), np.full(n_i, float(max_sessions)))
    flat = fit.reshape(-1)
    # Σ_j fit·x[j, k] − t ≥ 0 for every session k.
    model.add_group_rows(
        np.concatenate([ses, np.arange(n_k)]),
        np.zeros(n_k),
        np.full(n_k, np.inf),
        columns=np.concatenate([cols, np.full(n_k, n, dtype=np.int64)]),
        coef=np.concatenate([flat, -np.ones(n_k)]),
    )
    c = np.concatenate([flat, [balance_weight]])
    col_lo = np.zeros(n + 1)
    col_hi = np.concatenate([np.ones(n), [float(fit.sum()) + 1.0]])
    integer = np.concatenate([np.ones(n, dtype=np.bool_), [False]])
    result = maximise(model, c, col_lo, col_hi, integer, time_limit=time_limit, rel_gap=1e-4)
    if result.x is None:
        raise InvalidInputError("no invitation plan was found within the time limit", field="time_limit")
    chosen = (result.x[:n] > 0.5).reshape(n_i, n_k)
    return chosen, result.objective, result.bound
