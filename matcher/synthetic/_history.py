"""Three years of roadshows and the interactions they produced, drawn from the hidden utility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_ORDER, Outcome
from matcher.synthetic._config import HISTORY_END, HISTORY_START, HISTORY_YEARS, SizeSpec
from matcher.synthetic._investors import InvestorWorld
from matcher.synthetic._startups import ASK_MEDIAN, SECTOR_MIX, StartupWorld, nice_round
from matcher.synthetic._utility import UtilityModel
from matcher.taxonomy import SECTORS, sector_label

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DayArray = npt.NDArray[np.datetime64]

START = np.datetime64(HISTORY_START, "D")
END = np.datetime64(HISTORY_END, "D")
PUBLIC = len(STAGE_ORDER) - 1
_LADDER = (Outcome.REQUESTED, Outcome.MET, Outcome.DECLINED, Outcome.INTERESTED, Outcome.INTENT_SIGNED,
           Outcome.INVESTED)
# Cut points on utility + logistic noise: below the first a meeting ends in `declined`, then `met`
# (no decision yet), `interested`, `intent_signed`, `invested`. Banks sign credit-line intents readily.
_INVESTOR_CUTS = np.array([2.6, 3.6, 4.9, 6.4])
_BANK_CUTS = np.array([2.5, 3.4, 4.6, 6.4])
_REQUESTED = 0  # index of `requested` in _LADDER


@dataclass(frozen=True, slots=True)
class History:
    events: pl.DataFrame
    interactions: pl.DataFrame
    # Loans that came out of roadshow meetings (bank `invested` outcomes): indices, dates and amounts.
    loan_startup: IntArray
    loan_bank: IntArray
    loan_issued: DayArray
    loan_amount: FloatArray


@dataclass
class _Rows:
    s: list[IntArray]
    i: list[IntArray]
    day: list[DayArray]
    outcome: list[IntArray]
    stage: list[IntArray]
    event: list[IntArray]

    def add(self, keep: npt.NDArray[np.bool_], *, s: IntArray, i: IntArray, day: DayArray, outcome: IntArray,
            stage: IntArray, event: int) -> None:
        """Append the rows of the pairs where ``keep`` is true."""
        self.s.append(s[keep])
        self.i.append(i[keep])
        self.day.append(day[keep])
        self.outcome.append(outcome[keep])
        self.stage.append(stage[keep])
        self.event.append(np.full(int(keep.sum()), event, dtype=np.int64))


def _event_days(rng: np.random.Generator, per_year: int) -> tuple[DayArray, IntArray]:
    days = []
    years = []
    for year in HISTORY_YEARS:
        first = np.datetime64(date(year, 1, 1), "D")
        offsets = ((np.arange(per_year) + 0.5) / per_year * 365 + rng.normal(scale=6, size=per_year))
        offsets = np.clip(offsets, 10, 355).astype(np.int64)
        days.append(first + np.sort(offsets).astype("timedelta64[D]"))
        years.append(np.full(per_year, year, dtype=np.int64))
    return np.concatenate(days), np.concatenate(years)


def _split_visits(rng: np.random.Generator, target: int, per_year: int, cap: int) -> IntArray:
    """Visits per roadshow: a yearly total near ``target`` spread over the year's roadshows."""
    out = []
    for _ in HISTORY_YEARS:
        total = round(target * float(np.exp(rng.normal(scale=0.06))))
        out.append(np.minimum(rng.multinomial(total, np.full(per_year, 1 / per_year)), cap))
    return np.concatenate(out).astype(np.int64)


def make_history(rng: np.random.Generator, spec: SizeSpec, s: StartupWorld, inv: InvestorWorld,
                 model: UtilityModel) -> History:
    n_s = len(s.ids)
    inv_idx = np.flatnonzero(~inv.is_bank)
    bank_idx = np.flatnonzero(inv.is_bank)
    k_sec = len(SECTORS)
    declared_sector = np.zeros((len(inv.ids), k_sec), dtype=bool)
    declared_stage = np.zeros((len(inv.ids), len(STAGE_ORDER)), dtype=bool)
    code_index = {sec.code: j for j, sec in enumerate(SECTORS)}
    for r, (codes, stages) in enumerate(zip(inv.declared_sectors, inv.declared_stages, strict=True)):
        declared_sector[r, [code_index[c] for c in codes]] = True
        declared_stage[r, stages] = True

    days, years = _event_days(rng, spec.roadshows_per_year)
    n_events = days.size
    themes = rng.choice(k_sec, size=n_events, p=SECTOR_MIX / SECTOR_MIX.sum())
    inv_visits = _split_visits(rng, spec.investor_visits_per_year, spec.roadshows_per_year, inv_idx.size)
    bank_visits = _split_visits(rng, spec.bank_visits_per_year, spec.roadshows_per_year, bank_idx.size)
    pitch_counts = np.zeros(n_s)
    rows = _Rows([], [], [], [], [], [])

    for e in range(n_events):
        day = days[e]
        stage_now = s.stage_on(np.arange(n_s), np.full(n_s, day))
        eligible = (s.founded <= day - np.timedelta64(30, "D")) & (stage_now < PUBLIC)
        weight = np.exp(0.4 * s.quality) * np.where(s.sector == themes[e], 3.0, 1.0) * 0.5 ** pitch_counts
        weight = np.where(eligible, weight, 0.0)
        n_pitch = min(max(4, int(rng.poisson(spec.pitches_per_roadshow))), int(eligible.sum()))
        pitch = np.sort(rng.choice(n_s, size=n_pitch, replace=False, p=weight / weight.sum()))
        pitch_counts[pitch] += 1
        w_inv = inv.activity[inv_idx] * (0.5 + inv.sector_weight[inv_idx, themes[e]])
        guests = np.concatenate([
            np.sort(rng.choice(inv_idx, size=inv_visits[e], replace=False, p=w_inv / w_inv.sum())),
            np.sort(rng.choice(bank_idx, size=bank_visits[e], replace=False,
                               p=inv.activity[bank_idx] / inv.activity[bank_idx].sum())),
        ])
        gi, sj = np.meshgrid(guests, pitch, indexing="ij")
        gi, sj = gi.ravel(), sj.ravel()
        st = stage_now[sj]
        u = _pair_utility(model, s, sj, gi, st)
        visible = (1.5 * declared_sector[gi, s.sector[sj]] + 0.8 * declared_stage[gi, st] + 0.5 * u
                   + rng.gumbel(size=u.size)).reshape(guests.size, pitch.size)
        capacity = np.minimum(1 + rng.poisson(np.where(inv.is_bank[guests], 2.0, 2.5)), pitch.size)
        rank = np.argsort(np.argsort(-visible, axis=1), axis=1)
        met = (rank < capacity[:, None]).ravel()
        requested = ~met & (rng.random(met.size) < 0.06)
        outcome = np.where(met, _outcomes(rng, u, inv.is_bank[gi]), _REQUESTED)
        rows.add(met | requested, s=sj, i=gi, day=np.full(sj.size, day), outcome=outcome, stage=st, event=e)

    roadshow_rows = sum(a.size for a in rows.s)
    _offline(rng, spec, s=s, inv=inv, model=model, declared_sector=declared_sector,
             declared_stage=declared_stage, rows=rows, roadshow_rows=roadshow_rows)
    return _assemble(rng, s=s, inv=inv, rows=rows, days=days, years=years, themes=themes)


def _pair_utility(model: UtilityModel, s: StartupWorld, sj: IntArray, gi: IntArray, stage: IntArray) -> FloatArray:
    """Utility at the time of the meeting: the startup's stage then, and the ask that stage implies."""
    return model.pairs(sj, gi, stage=stage.astype(np.float64), log_ask=np.log(_ask_at(s, sj, stage)))


def _ask_at(s: StartupWorld, sj: IntArray, stage: IntArray) -> FloatArray:
    return np.asarray(nice_round(s.ask[sj] * ASK_MEDIAN[stage] / ASK_MEDIAN[s.stage_end[sj]]), dtype=np.float64)


def _outcomes(rng: np.random.Generator, u: FloatArray, is_bank: npt.NDArray[np.bool_]) -> IntArray:
    y = u + rng.logistic(size=u.size)
    cuts = np.where(is_bank[:, None], _BANK_CUTS[None, :], _INVESTOR_CUTS[None, :])
    level = (y[:, None] >= cuts).sum(axis=1)
    # level 0 → declined (2), 1 → met (1), 2 → interested (3), 3 → intent (4), 4 → invested (5)
    return np.asarray(np.array([2, 1, 3, 4, 5], dtype=np.int64)[level], dtype=np.int64)


def _offline(rng: np.random.Generator, spec: SizeSpec, *, s: StartupWorld, inv: InvestorWorld,
             model: UtilityModel, declared_sector: npt.NDArray[np.bool_], declared_stage: npt.NDArray[np.bool_],
             rows: _Rows, roadshow_rows: int) -> None:
    """Contacts outside roadshows: introductions and visits, biased towards visible good fits."""
    n_out = round(roadshow_rows * spec.offline_share / (1 - spec.offline_share))
    n_cand = 2 * n_out
    gi = rng.choice(len(inv.ids), size=n_cand, p=inv.activity / inv.activity.sum())
    w_s = np.exp(0.3 * s.quality)
    sj = rng.choice(len(s.ids), size=n_cand, p=w_s / w_s.sum())
    first = np.maximum(s.founded[sj] + np.timedelta64(30, "D"), START)
    span = (END - first).astype(np.int64)
    day = first + (rng.random(n_cand) * np.maximum(span, 0)).astype(np.int64).astype("timedelta64[D]")
    st = s.stage_on(sj, day)
    u = _pair_utility(model, s, sj, gi, st)
    visible = 1.5 * declared_sector[gi, s.sector[sj]] + 0.8 * declared_stage[gi, st] + 0.5 * u + rng.gumbel(size=n_cand)
    keep = (span > 0) & (visible >= np.quantile(visible, 0.5))
    outcome = np.where(rng.random(n_cand) < 0.08, _REQUESTED, _outcomes(rng, u, inv.is_bank[gi]))
    rows.add(keep, s=sj, i=gi, day=day, outcome=outcome, stage=st, event=-1)


def _assemble(rng: np.random.Generator, *, s: StartupWorld, inv: InvestorWorld, rows: _Rows, days: DayArray,
              years: IntArray, themes: IntArray) -> History:
    sj = np.concatenate(rows.s)
    gi = np.concatenate(rows.i)
    day = np.concatenate(rows.day)
    outcome = np.concatenate(rows.outcome)
    stage = np.concatenate(rows.stage)
    event = np.concatenate(rows.event)
    m = sj.size
    intent = outcome == 4
    invested = outcome == 5
    bank = inv.is_bank[gi]
    # Intents follow within weeks, investments (or loans) within months; nothing after the history.
    lag = np.where(intent, 3 + 57 * rng.random(m), np.where(invested, 30 + 150 * rng.random(m), 0.0))
    day = np.minimum(day + lag.astype(np.int64).astype("timedelta64[D]"), END)
    ask = _ask_at(s, sj, stage)
    share = 0.25 + 0.55 * rng.random(m)
    equity = np.clip(ask * share, inv.ticket_min[gi], 1.5 * inv.ticket_max[gi])
    credit = np.clip(300 * np.exp(0.5 * rng.normal(size=m) + 0.3 * s.quality[sj]), 50, 1000)
    amount = np.where(intent | invested, nice_round(np.where(bank, credit, equity)), np.nan)

    event_ids, names = [], []
    counter: dict[int, int] = {}
    for d, y, th in zip(days.tolist(), years.tolist(), themes.tolist(), strict=True):
        counter[y] = counter.get(y, 0) + 1
        event_ids.append(f"{d:%Y-%m}-lotus-{counter[y]:02d}")
        names.append(f"智造莲城 创新成果路演 {y}年第{counter[y]}期（{sector_label(SECTORS[th].code)}专场）")
    city = np.where(rng.random(days.size) < 0.1, "长沙", "湘潭")
    events = pl.DataFrame({"event_id": event_ids, "name": names, "held_on": days, "city": city.tolist()})

    frame = pl.DataFrame({
        "startup_id": [s.ids[k] for k in sj.tolist()],
        "investor_id": [inv.ids[k] for k in gi.tolist()],
        "occurred_on": day,
        "outcome": [_LADDER[k].value for k in outcome.tolist()],
        "stage": [STAGE_ORDER[k].value for k in stage.tolist()],
        "amount_wan": amount,
        "event_id": [event_ids[k] if k >= 0 else None for k in event.tolist()],
    }, schema_overrides={"event_id": pl.Utf8, "occurred_on": pl.Date})
    frame = frame.with_columns(pl.col("amount_wan").fill_nan(None)).sort(
        ["occurred_on", "event_id", "startup_id", "investor_id"], nulls_last=True, maintain_order=True)
    loans = bank & invested
    return History(events, frame, sj[loans], gi[loans], day[loans], amount[loans])
