"""Which banks each startup lets assess it (consents.csv), derived from the world's own history.

A startup consents to a bank when it has dealt with it: a loan from it (consent granted up to 60 days
before the first loan) or a roadshow meeting that went beyond a request (granted on the meeting day).
Besides, ``OPEN_SHARE`` of the startups consent to one or two banks they never dealt with (the
registration form's tick boxes). ``REVOKED_SHARE`` of the consents are later revoked, somewhere between
the grant and the end of the history, so the file carries the history a bank's view must respect.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from matcher.domain import InvestorKind
from matcher.synthetic._config import HISTORY_END

OPEN_SHARE = 0.15
REVOKED_SHARE = 0.08
_DEALT = ("met", "interested", "intent_signed", "invested")


def make_consents(
    rng: np.random.Generator,
    startups: pl.DataFrame,
    investors: pl.DataFrame,
    interactions: pl.DataFrame,
    loans: pl.DataFrame,
) -> pl.DataFrame:
    """``startup_id, bank_id, granted_on, revoked_on``, sorted, one row per grant."""
    banks = investors.filter(pl.col("kind") == InvestorKind.BANK.value)["investor_id"]
    schema = {"startup_id": pl.Utf8, "bank_id": pl.Utf8, "granted_on": pl.Date, "revoked_on": pl.Date}
    if banks.is_empty() or startups.is_empty():
        return pl.DataFrame(schema=schema)
    lent = loans.select("startup_id", "bank_id", (pl.col("issued_on") - pl.duration(days=60)).alias("on"))
    met = interactions.filter(pl.col("investor_id").is_in(banks.implode()) & pl.col("outcome").is_in(_DEALT)).select(
        "startup_id", pl.col("investor_id").alias("bank_id"), pl.col("occurred_on").alias("on"))
    dealt = pl.concat([lent, met]).drop_nulls().group_by("startup_id", "bank_id").agg(pl.col("on").min())
    ids = startups["startup_id"].to_numpy()
    chosen = ids[rng.random(ids.size) < OPEN_SHARE]
    bank_ids = banks.to_numpy()
    first = np.datetime64(HISTORY_END, "D") - np.timedelta64(3 * 365, "D")
    open_rows = pl.DataFrame({
        "startup_id": np.repeat(chosen, 2),
        "bank_id": rng.choice(bank_ids, 2 * chosen.size),
        "on": first + rng.integers(0, 3 * 365, 2 * chosen.size).astype("timedelta64[D]"),
        "keep": np.tile([True, False], chosen.size) | (rng.random(2 * chosen.size) < 0.5),
    }, schema_overrides={"on": pl.Date}).filter("keep").drop("keep")
    grants = (
        pl.concat([dealt, open_rows.group_by("startup_id", "bank_id").agg(pl.col("on").min())])
        .group_by("startup_id", "bank_id").agg(pl.col("on").min().alias("granted_on"))
        .sort("startup_id", "bank_id")
    )
    end = HISTORY_END.toordinal()
    granted = np.asarray([d.toordinal() for d in grants["granted_on"].to_list()])
    revoke = rng.random(grants.height) < REVOKED_SHARE
    span = np.maximum(end - granted, 1)
    revoked_days = granted + 1 + (rng.random(grants.height) * span).astype(np.int64)
    revoked = [date.fromordinal(int(d)) if r and d <= end else None
               for r, d in zip(revoke.tolist(), revoked_days.tolist(), strict=True)]
    return grants.with_columns(pl.Series("revoked_on", revoked, dtype=pl.Date)).select(list(schema))
