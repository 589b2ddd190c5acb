"""Meeting outcomes: what participants and organisers report about a roadshow's meetings, and the one
rule that turns meeting outcomes into ``interactions.csv`` rows (what the ranking model learns from).

A report says what happened between one startup and one investor or bank at one roadshow: ``held``
(they met, no decision yet), ``no_show`` (naming who did not come: ``startup``, ``investor`` or
``both``), then ``declined``, ``interested``, ``intent_signed`` (an amount in 万元 and the signing date)
or ``invested`` (the amount and the date). Reports are never overwritten: a correction is a new report,
and a pair's current outcome is its latest report (:func:`current_outcomes`).

:func:`meeting_interactions` is also what the sample world's generator writes its history with, so the
product's own records and the generated ones read the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

import polars as pl

from matcher.domain import Outcome
from matcher.errors import InvalidInputError

MeetingOutcome = Literal["held", "no_show", "declined", "interested", "intent_signed", "invested"]
MEETING_OUTCOMES: tuple[MeetingOutcome, ...] = (
    "held", "no_show", "declined", "interested", "intent_signed", "invested"
)
Absent = Literal["startup", "investor", "both"]
ABSENT: tuple[Absent, ...] = ("startup", "investor", "both")
SIGNED: frozenset[str] = frozenset({"intent_signed", "invested"})
# What a held meeting's report means as an interaction outcome (no_show has none: it is `requested`).
_AS_INTERACTION: dict[str, str] = {
    "held": Outcome.MET.value,
    "declined": Outcome.DECLINED.value,
    "interested": Outcome.INTERESTED.value,
    "intent_signed": Outcome.INTENT_SIGNED.value,
    "invested": Outcome.INVESTED.value,
}
MAX_AMOUNT_WAN = 100_000_000.0


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    """One report about one pair at one roadshow. ``on`` is the signing (or investment) date; the
    meeting's own outcomes happen on the roadshow's day."""

    startup_id: str
    investor_id: str
    outcome: MeetingOutcome
    no_show: Absent | None = None
    amount_wan: float | None = None
    on: date | None = None


def check_report(report: OutcomeReport, *, event_day: date, today: date, where: str = "") -> OutcomeReport:
    """The report validated (errors name the field, prefixed with ``where``), with ``on`` resolved:
    a signed intent or an investment without a date is dated on the roadshow's day."""
    at = f"{where}." if where else ""
    if report.outcome not in MEETING_OUTCOMES:
        raise InvalidInputError(f"outcome must be one of {', '.join(MEETING_OUTCOMES)}", field=f"{at}outcome")
    if report.outcome == "no_show":
        if report.no_show not in ABSENT:
            raise InvalidInputError(
                f"a no_show names who did not come: one of {', '.join(ABSENT)}", field=f"{at}no_show"
            )
    elif report.no_show is not None:
        raise InvalidInputError("no_show is only given with the outcome no_show", field=f"{at}no_show")
    if report.outcome in SIGNED:
        amount = report.amount_wan
        if amount is None or not math.isfinite(amount) or amount <= 0 or amount > MAX_AMOUNT_WAN:
            raise InvalidInputError(
                f"{report.outcome} needs amount_wan, the amount in 万元 (> 0)", field=f"{at}amount_wan"
            )
    elif report.amount_wan is not None:
        raise InvalidInputError(
            "amount_wan is only given with intent_signed or invested", field=f"{at}amount_wan"
        )
    if report.on is not None:
        if report.on < event_day:
            raise InvalidInputError(
                f"on ({report.on}) is before the roadshow ({event_day})", field=f"{at}on"
            )
        if report.on > today:
            raise InvalidInputError(f"on ({report.on}) is in the future", field=f"{at}on")
    if report.outcome in SIGNED and report.on is None:
        return replace(report, on=event_day)
    return report


def current_outcomes(reports: Iterable[OutcomeReport], *, event_day: date,
                     stages: Mapping[str, str | None] | None = None) -> pl.DataFrame:
    """Each pair's current outcome (its latest report; ``reports`` in the order they were made) in the
    shape :func:`meeting_interactions` reads: ``startup_id, investor_id, no_show, outcome, amount_wan,
    signed_on, invested_on, stage`` (``stages``: each startup's stage, e.g. today's).

    An investment keeps the date of the intent reported before it (else it is dated as the investment)."""
    latest: dict[tuple[str, str], OutcomeReport] = {}
    intent_on: dict[tuple[str, str], date] = {}
    for r in reports:
        pair = (r.startup_id, r.investor_id)
        latest.pop(pair, None)
        latest[pair] = r
        if r.outcome == "intent_signed" and r.on is not None:
            intent_on[pair] = r.on
    rows = []
    for pair, r in latest.items():
        day = r.on or event_day
        signed_on = (min(intent_on.get(pair, day), day) if r.outcome == "invested" else day) \
            if r.outcome in SIGNED else None
        rows.append({
            "startup_id": pair[0],
            "investor_id": pair[1],
            "no_show": r.no_show if r.outcome == "no_show" else None,
            "outcome": _AS_INTERACTION.get(r.outcome),
            "amount_wan": r.amount_wan if r.outcome in SIGNED else None,
            "signed_on": signed_on,
            "invested_on": day if r.outcome == "invested" else None,
            "stage": (stages or {}).get(pair[0]),
        })
    schema = {"startup_id": pl.Utf8, "investor_id": pl.Utf8, "no_show": pl.Utf8, "outcome": pl.Utf8,
              "amount_wan": pl.Float64, "signed_on": pl.Date, "invested_on": pl.Date, "stage": pl.Utf8}
    return pl.DataFrame(rows, schema=schema)


def meeting_interactions(outcomes: pl.DataFrame, held_on: date | str, *, event_id: str | None = None,
                         until: date | None = None) -> pl.DataFrame:
    """``interactions.csv`` rows for meeting outcomes (as :func:`current_outcomes` or the sample world's
    ``simulate_meeting_outcomes`` return them).

    A no-show is a `requested` row (the pair was asked for and planned but never met: the contract has
    no no-show outcome); a held meeting is its outcome on ``held_on``; a signed intent is an
    `intent_signed` row on its signing date with its amount, and an investment adds an `invested` row
    on its own date. With ``until``, nothing dated after it has happened yet: an intent signed later
    leaves a `met` row, an investment made later leaves the intent. Rows carry ``event_id`` when given,
    else the outcomes' own ``event_id`` column if any. ``held_on`` is the meetings' date, or the name of
    a column holding each one's."""
    day = pl.lit(held_on, dtype=pl.Date) if isinstance(held_on, date) else pl.col(held_on)
    event = (pl.lit(event_id, dtype=pl.Utf8) if event_id is not None
             else pl.col("event_id") if "event_id" in outcomes.columns else pl.lit(None, dtype=pl.Utf8))
    last = pl.lit(until, dtype=pl.Date) if until is not None else pl.lit(date.max, dtype=pl.Date)
    base = outcomes.select(
        "startup_id", "investor_id", "stage", "amount_wan", "signed_on", "invested_on", event.alias("event_id"),
        day.alias("held_on"),
        outcome=pl.when(pl.col("no_show").is_not_null()).then(pl.lit(Outcome.REQUESTED.value))
        .when(pl.col("signed_on") > last).then(pl.lit(Outcome.MET.value))
        .otherwise(pl.col("outcome")),
    )
    signed = pl.col("outcome").is_in([Outcome.INTENT_SIGNED.value, Outcome.INVESTED.value])
    keys = ("startup_id", "investor_id")
    plain = base.filter(~signed).select(*keys, occurred_on="held_on", outcome="outcome", stage="stage",
                                        amount_wan=pl.lit(None, dtype=pl.Float64), event_id="event_id")
    intents = base.filter(signed).select(*keys, occurred_on="signed_on",
                                         outcome=pl.lit(Outcome.INTENT_SIGNED.value), stage="stage",
                                         amount_wan="amount_wan", event_id="event_id")
    invested = base.filter((pl.col("outcome") == Outcome.INVESTED.value) & (pl.col("invested_on") <= last)).select(
        *keys, occurred_on="invested_on", outcome=pl.lit(Outcome.INVESTED.value), stage="stage",
        amount_wan="amount_wan", event_id="event_id")
    return pl.concat([plain, intents, invested])
