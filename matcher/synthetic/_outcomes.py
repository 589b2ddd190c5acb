"""What happens at a meeting, drawn from the hidden utility: the one outcome model of the generator.

The history's roadshow meetings and contacts and ``simulate_meeting_outcomes`` (for a benchmark that
replays roadshows) both go through ``decide``, and ``matcher.outcomes.meeting_interactions`` (the
product's own rule, re-exported here) turns meeting outcomes into ``interactions.csv`` rows.

- **No-shows.** ``NO_SHOW_RATE`` = 8% of planned meetings do not take place, the guest's side 60% of
  the time. B2B matchmaking reports put no-shows at roughly 5–15% of booked meetings, higher at free
  open events; an organiser-run roadshow with invited, confirmed guests sits in the lower half.
- **Decision.** ``y = u + logistic noise`` cut at fixed thresholds: declined / met (no decision yet)
  / interested / intent_signed / invested; banks sign credit-line intents more readily.
- **Dates.** ``ON_THE_DAY_SHARE`` = 80% of intents are signed at the roadshow itself (the zone reports
  intents "signed on site"); the rest 1–14 days later (geometric, median 2). An investment (or a
  bank's loan) follows its intent 30–180 days later.
- **Amounts.** An investor's intent is the startup's ask at that stage × 25–80%, within the
  investor's actual cheque range (up to 1.5 × its maximum); a bank's is a credit line of 50–1,000万
  rising with quality. An investment keeps its intent's amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_ORDER, Outcome
from matcher.synthetic._startups import nice_round
from matcher.synthetic._truth import Truth, day_array

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DayArray = npt.NDArray[np.datetime64]

NO_SHOW_RATE = 0.08
NO_SHOW_GUEST_SHARE = 0.6
ON_THE_DAY_SHARE = 0.8
MAX_SIGNING_LAG_DAYS = 14
SHARE_LOW = 0.5
CREDIT_MEDIAN_WAN = 800.0
CREDIT_RANGE_WAN = (100.0, 5000.0)
# Cut points on utility + logistic noise: below the first a meeting ends in `declined`, then `met`
# (no decision yet), `interested`, `intent_signed`, `invested`.
_INVESTOR_CUTS = np.array([2.6, 3.6, 4.6, 6.4])
_BANK_CUTS = np.array([2.5, 3.4, 4.6, 6.4])
LADDER: tuple[Outcome, ...] = (Outcome.REQUESTED, Outcome.MET, Outcome.DECLINED, Outcome.INTERESTED,
                               Outcome.INTENT_SIGNED, Outcome.INVESTED)
REQUESTED, MET, DECLINED, INTERESTED, INTENT, INVESTED = range(6)  # indices into LADDER
NO_SHOW_SIDES: tuple[str, ...] = ("startup", "investor")

OUTCOME_SCHEMA: dict[str, type[pl.DataType]] = {
    "no_show": pl.Utf8, "outcome": pl.Utf8, "amount_wan": pl.Float64, "signed_on": pl.Date,
    "invested_on": pl.Date, "stage": pl.Utf8,
}
"""Columns ``simulate_meeting_outcomes`` adds to each meeting."""


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per pair: the outcome (index into ``LADDER``), amount (NaN unless signed) and dates (NaT unless signed)."""

    outcome: IntArray
    amount: FloatArray
    signed_on: DayArray
    invested_on: DayArray


def draw_no_shows(rng: np.random.Generator, n: int, rate: float = NO_SHOW_RATE) -> IntArray:
    """Per planned meeting: -1 when it is held, else the index into ``NO_SHOW_SIDES`` of who stayed away."""
    missed = rng.random(n) < rate
    guest = rng.random(n) < NO_SHOW_GUEST_SHARE
    return np.where(missed, guest.astype(np.int64), -1)


def decide(rng: np.random.Generator, truth: Truth, sj: IntArray, gi: IntArray, *, day: DayArray, stage: IntArray,
           utility: FloatArray) -> Decisions:
    """Outcome of held meetings (or contacts) between startup rows ``sj`` and investor rows ``gi`` on ``day``."""
    m = sj.size
    bank = truth.is_bank[gi]
    y = utility + rng.logistic(size=m)
    cuts = np.where(bank[:, None], _BANK_CUTS[None, :], _INVESTOR_CUTS[None, :])
    level = (y[:, None] >= cuts).sum(axis=1)
    outcome = np.array([DECLINED, MET, INTERESTED, INTENT, INVESTED], dtype=np.int64)[level]
    signed = outcome >= INTENT

    on_the_day = rng.random(m) < ON_THE_DAY_SHARE
    late = np.minimum(rng.geometric(0.35, size=m), MAX_SIGNING_LAG_DAYS)
    signing_lag = np.where(on_the_day, 0, late).astype("timedelta64[D]")
    invest_lag = (30 + 150 * rng.random(m)).astype(np.int64).astype("timedelta64[D]")
    share = SHARE_LOW + (1 - SHARE_LOW) * rng.random(m)
    credit = CREDIT_MEDIAN_WAN * np.exp(0.6 * rng.normal(size=m) + 0.3 * truth.utility.quality[sj])

    equity = np.clip(truth.ask_at(sj, stage) * share, truth.ticket_min[gi], truth.ticket_max[gi])
    amount = np.where(signed, nice_round(np.where(bank, np.clip(credit, *CREDIT_RANGE_WAN), equity)), np.nan)
    nat = np.datetime64("NaT", "D")
    signed_on = np.where(signed, day + signing_lag, nat)
    invested_on = np.where(outcome == INVESTED, signed_on + invest_lag, nat)
    return Decisions(outcome, np.asarray(amount, dtype=np.float64), signed_on, invested_on)


def simulate_meeting_outcomes(
    truth: Truth,
    meetings: pl.DataFrame,
    event_date: date,
    rng: np.random.Generator,
    *,
    no_show_rate: float = NO_SHOW_RATE,
) -> pl.DataFrame:
    """What happens at the planned ``meetings`` (columns ``startup_id``, ``investor_id``; others are kept)
    of a roadshow on ``event_date``, drawn from the hidden truth with the history's own model.

    Adds ``no_show`` (``startup`` / ``investor`` when that side stayed away, else empty), ``outcome``
    (``declined``, ``met``, ``interested``, ``intent_signed`` or ``invested``; empty for a no-show),
    ``amount_wan``, ``signed_on`` and ``invested_on`` (for signed outcomes) and ``stage`` (the
    startup's stage on that day). The same ``rng`` state gives the same outcomes. Turn the result
    into interaction rows with ``meeting_interactions``. Unknown ids raise ``NotFoundError``."""
    sj = truth.startup_rows(meetings["startup_id"].to_list())
    gi = truth.investor_rows(meetings["investor_id"].to_list())
    day = day_array(event_date, sj.size)
    missed = draw_no_shows(rng, sj.size, no_show_rate)
    stage = truth.stage_on(sj, day)
    d = decide(rng, truth, sj, gi, day=day, stage=stage, utility=truth.pair_utility(sj, gi, stage))
    held = missed < 0
    return meetings.with_columns(outcome_columns(missed, d, held=held, stage=stage))


def outcome_columns(missed: IntArray, d: Decisions, *, held: npt.NDArray[np.bool_],
                    stage: IntArray) -> list[pl.Series]:
    """The ``OUTCOME_SCHEMA`` columns of meetings whose decisions are ``d`` (ignored where not held)."""
    nat = np.datetime64("NaT", "D")
    return [
        pl.Series("no_show", [NO_SHOW_SIDES[k] if k >= 0 else None for k in missed.tolist()], dtype=pl.Utf8),
        pl.Series("outcome", [LADDER[k].value if h else None for k, h in zip(d.outcome.tolist(), held.tolist(),
                                                                              strict=True)], dtype=pl.Utf8),
        pl.Series("amount_wan", np.where(held, d.amount, np.nan), dtype=pl.Float64).fill_nan(None),
        pl.Series("signed_on", np.where(held, d.signed_on, nat), dtype=pl.Date),
        pl.Series("invested_on", np.where(held, d.invested_on, nat), dtype=pl.Date),
        pl.Series("stage", [STAGE_ORDER[k].value for k in stage.tolist()], dtype=pl.Utf8),
    ]
