"""Three years of roadshows and the interactions they produced, drawn from the hidden utility."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_ORDER
from matcher.outcomes import meeting_interactions
from matcher.synthetic._config import HISTORY_END, HISTORY_START, HISTORY_YEARS, SizeSpec
from matcher.synthetic._investors import InvestorWorld
from matcher.synthetic._outcomes import (
    INVESTED,
    REQUESTED,
    Decisions,
    decide,
    draw_no_shows,
    outcome_columns,
)
from matcher.synthetic._startups import SECTOR_MIX, StartupWorld
from matcher.synthetic._truth import ATTENDANCE_SCHEMA, Truth
from matcher.taxonomy import SECTORS, sector_label

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DayArray = npt.NDArray[np.datetime64]

START = np.datetime64(HISTORY_START, "D")
END = np.datetime64(HISTORY_END, "D")
PUBLIC = len(STAGE_ORDER) - 1
REQUEST_SHARE = 0.06  # of a guest's other pitching startups, asked for without a meeting
OFFLINE_REQUEST_SHARE = 0.08
# Innovation-results roadshows feature young firms: later stages are invited less (idea .. public).
PITCH_STAGE_WEIGHT = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.5, 0.3, 0.2, 0.0])
MEETING_COLUMNS = ("event_id", "startup_id", "investor_id", "no_show", "outcome", "amount_wan", "signed_on",
                   "invested_on")


@dataclass(frozen=True, slots=True)
class History:
    events: pl.DataFrame
    interactions: pl.DataFrame
    meetings: pl.DataFrame  # truth/meetings.csv: every planned roadshow meeting and what came of it
    attendance: pl.DataFrame  # truth/attendance.csv: who pitched and which institutions came
    # Loans that came out of roadshow meetings (bank `invested` outcomes): indices, dates and amounts.
    loan_startup: IntArray
    loan_bank: IntArray
    loan_issued: DayArray
    loan_amount: FloatArray


@dataclass
class _Contacts:
    """Contacts of the history, as parallel arrays: roadshow meetings, requests and contacts outside."""

    parts: dict[str, list[npt.NDArray[np.generic]]] = field(default_factory=dict)

    def add(self, *, s: IntArray, i: IntArray, day: DayArray, stage: IntArray, event: int, planned: bool,
            missed: IntArray, d: Decisions) -> None:
        n = s.size
        for name, values in (("s", s), ("i", i), ("day", day), ("stage", stage), ("event", np.full(n, event)),
                             ("planned", np.full(n, planned)), ("missed", missed), ("outcome", d.outcome),
                             ("amount", d.amount), ("signed_on", d.signed_on), ("invested_on", d.invested_on)):
            self.parts.setdefault(name, []).append(values)

    def get(self, name: str) -> npt.NDArray[np.generic]:
        return np.concatenate(self.parts[name])


def _asked(n: int, day: DayArray) -> tuple[IntArray, Decisions]:
    """Pairs asked for without a meeting: no no-show, outcome `requested`."""
    nat = np.full(n, np.datetime64("NaT", "D"))
    return np.full(n, -1, dtype=np.int64), Decisions(np.full(n, REQUESTED, dtype=np.int64), np.full(n, np.nan),
                                                     nat, nat.copy())


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


def _declared_masks(inv: InvestorWorld) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    declared_sector = np.zeros((len(inv.ids), len(SECTORS)), dtype=bool)
    declared_stage = np.zeros((len(inv.ids), len(STAGE_ORDER)), dtype=bool)
    code_index = {sec.code: j for j, sec in enumerate(SECTORS)}
    for r, (codes, stages) in enumerate(zip(inv.declared_sectors, inv.declared_stages, strict=True)):
        declared_sector[r, [code_index[c] for c in codes]] = True
        declared_stage[r, stages] = True
    return declared_sector, declared_stage


def make_history(rng: np.random.Generator, spec: SizeSpec, s: StartupWorld, inv: InvestorWorld,
                 truth: Truth) -> History:
    n_s = len(s.ids)
    inv_idx = np.flatnonzero(~inv.is_bank)
    bank_idx = np.flatnonzero(inv.is_bank)
    declared_sector, declared_stage = _declared_masks(inv)

    days, years = _event_days(rng, spec.roadshows_per_year)
    n_events = days.size
    themes = rng.choice(len(SECTORS), size=n_events, p=SECTOR_MIX / SECTOR_MIX.sum())
    inv_visits = _split_visits(rng, spec.investor_visits_per_year, spec.roadshows_per_year, inv_idx.size)
    bank_visits = _split_visits(rng, spec.bank_visits_per_year, spec.roadshows_per_year, bank_idx.size)
    pitch_counts = np.zeros(n_s)
    contacts = _Contacts()
    attendance: list[tuple[int, IntArray, IntArray]] = []

    for e in range(n_events):
        day = days[e]
        stage_now = s.stage_on(np.arange(n_s), np.full(n_s, day))
        eligible = (s.founded <= day - np.timedelta64(30, "D")) & (stage_now < PUBLIC)
        weight = (np.exp(0.4 * s.quality) * np.where(s.sector == themes[e], 3.0, 1.0) * 0.5 ** pitch_counts
                  * PITCH_STAGE_WEIGHT[stage_now])
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
        attendance.append((e, pitch, guests))
        gi, sj = np.meshgrid(guests, pitch, indexing="ij")
        gi, sj = gi.ravel(), sj.ravel()
        st = stage_now[sj]
        u = truth.pair_utility(sj, gi, st)
        visible = (1.5 * declared_sector[gi, s.sector[sj]] + 0.8 * declared_stage[gi, st] + 0.5 * u
                   + rng.gumbel(size=u.size)).reshape(guests.size, pitch.size)
        capacity = np.minimum(1 + rng.poisson(np.where(inv.is_bank[guests], 2.0, 2.5)), pitch.size)
        rank = np.argsort(np.argsort(-visible, axis=1), axis=1)
        met = (rank < capacity[:, None]).ravel()
        asked = ~met & (rng.random(met.size) < REQUEST_SHARE)
        on = np.full(sj.size, day)
        missed = draw_no_shows(rng, int(met.sum()))
        d = decide(rng, truth, sj[met], gi[met], day=on[met], stage=st[met], utility=u[met])
        contacts.add(s=sj[met], i=gi[met], day=on[met], stage=st[met], event=e, planned=True, missed=missed, d=d)
        # A request that never became a meeting carries no roadshow: at a roadshow, a `requested` row is
        # a planned meeting someone did not come to (a no-show), and the records tell the two apart.
        no_show, none = _asked(int(asked.sum()), on[asked])
        contacts.add(s=sj[asked], i=gi[asked], day=on[asked], stage=st[asked], event=-1, planned=False,
                     missed=no_show, d=none)

    roadshow_rows = sum(a.size for a in contacts.parts["s"])
    _offline(rng, spec, s=s, inv=inv, truth=truth, declared_sector=declared_sector, declared_stage=declared_stage,
             contacts=contacts, roadshow_rows=roadshow_rows)
    return _assemble(rng, s=s, inv=inv, contacts=contacts, days=days, years=years, themes=themes,
                     attendance=attendance)


def _offline(rng: np.random.Generator, spec: SizeSpec, *, s: StartupWorld, inv: InvestorWorld, truth: Truth,
             declared_sector: npt.NDArray[np.bool_], declared_stage: npt.NDArray[np.bool_], contacts: _Contacts,
             roadshow_rows: int) -> None:
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
    u = truth.pair_utility(sj, gi, st)
    visible = 1.5 * declared_sector[gi, s.sector[sj]] + 0.8 * declared_stage[gi, st] + 0.5 * u + rng.gumbel(size=n_cand)
    keep = (span > 0) & (visible >= np.quantile(visible, 0.5))
    asked = keep & (rng.random(n_cand) < OFFLINE_REQUEST_SHARE)
    talked = keep & ~asked
    d = decide(rng, truth, sj[talked], gi[talked], day=day[talked], stage=st[talked], utility=u[talked])
    contacts.add(s=sj[talked], i=gi[talked], day=day[talked], stage=st[talked], event=-1, planned=False,
                 missed=np.full(int(talked.sum()), -1, dtype=np.int64), d=d)
    no_show, none = _asked(int(asked.sum()), day[asked])
    contacts.add(s=sj[asked], i=gi[asked], day=day[asked], stage=st[asked], event=-1, planned=False,
                 missed=no_show, d=none)


def _assemble(rng: np.random.Generator, *, s: StartupWorld, inv: InvestorWorld, contacts: _Contacts,
              days: DayArray, years: IntArray, themes: IntArray,
              attendance: list[tuple[int, IntArray, IntArray]]) -> History:
    sj = np.asarray(contacts.get("s"), dtype=np.int64)
    gi = np.asarray(contacts.get("i"), dtype=np.int64)
    event = np.asarray(contacts.get("event"), dtype=np.int64)
    planned = np.asarray(contacts.get("planned"), dtype=bool)
    missed = np.asarray(contacts.get("missed"), dtype=np.int64)
    d = Decisions(np.asarray(contacts.get("outcome"), dtype=np.int64),
                  np.asarray(contacts.get("amount"), dtype=np.float64),
                  np.asarray(contacts.get("signed_on"), dtype="datetime64[D]"),
                  np.asarray(contacts.get("invested_on"), dtype="datetime64[D]"))

    event_ids, names = [], []
    counter: dict[int, int] = {}
    for day, y, th in zip(days.tolist(), years.tolist(), themes.tolist(), strict=True):
        counter[y] = counter.get(y, 0) + 1
        event_ids.append(f"{day:%Y-%m}-lotus-{counter[y]:02d}")
        names.append(f"智造莲城 创新成果路演 {y}年第{counter[y]}期（{sector_label(SECTORS[th].code)}专场）")
    city = np.where(rng.random(days.size) < 0.1, "长沙", "湘潭")
    events = pl.DataFrame({"event_id": event_ids, "name": names, "held_on": days, "city": city.tolist()})

    every = pl.DataFrame({
        "startup_id": [s.ids[k] for k in sj.tolist()],
        "investor_id": [inv.ids[k] for k in gi.tolist()],
        "event_id": pl.Series([event_ids[k] if k >= 0 else None for k in event.tolist()], dtype=pl.Utf8),
        "held_on": pl.Series(contacts.get("day"), dtype=pl.Date),
        "planned": planned,
    }).with_columns(outcome_columns(missed, d, held=missed < 0,
                                    stage=np.asarray(contacts.get("stage"), dtype=np.int64)))
    interactions = meeting_interactions(every, "held_on", until=HISTORY_END).sort(
        ["occurred_on", "event_id", "startup_id", "investor_id", "outcome"], nulls_last=True, maintain_order=True)
    meetings = every.filter(pl.col("planned")).select(MEETING_COLUMNS).sort(
        ["event_id", "startup_id", "investor_id"])

    rows = []
    held_on = days.tolist()
    for e, pitch, guests in attendance:
        rows += [(event_ids[e], held_on[e], "startup", s.ids[k]) for k in pitch.tolist()]
        rows += [(event_ids[e], held_on[e], "investor", inv.ids[k]) for k in guests.tolist()]
    attended = pl.DataFrame(rows, schema=ATTENDANCE_SCHEMA, orient="row")

    loans = inv.is_bank[gi] & (d.outcome == INVESTED) & (missed < 0) & (d.invested_on <= END)
    return History(events, interactions, meetings, attended, sj[loans], gi[loans], d.invested_on[loans],
                   d.amount[loans])
