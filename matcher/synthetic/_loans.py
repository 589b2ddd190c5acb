"""Bank loans to startups and their defaults, drawn from a hidden logistic risk model.

    logit PD₁₂ = a₀ − 3.0·(R&D ÷ total cost) − 0.45·ln(1 + valid invention patents at issue)
               + 0.8·credit_flags − 0.10·ln(1 + revenue) + 1.0·min(amount ÷ total assets, 3)
               − 0.12·stage + sector effect − 0.5·quality + ε,   ε ~ N(0, 0.3²)

``a₀`` is solved so the mean 12-month PD over the issued loans is ``BASE_DEFAULT_RATE``; the PD over a
loan's term is ``1 − (1 − PD₁₂)^(term/12)``. More valid invention patents never raise the risk.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import IPKind, IPStatus, ProductKind
from matcher.synthetic._config import HISTORY_END
from matcher.synthetic._history import History
from matcher.synthetic._investors import InvestorWorld
from matcher.synthetic._startups import StartupWorld, nice_round, sigmoid
from matcher.taxonomy import SECTORS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DayArray = npt.NDArray[np.datetime64]

END = np.datetime64(HISTORY_END, "D")
# Loans reach back before the roadshow history so that enough of them have matured.
LOAN_START = np.datetime64(date(2021, 1, 1), "D")
BASE_DEFAULT_RATE = 0.05
STANDARD_LOAN_WAN = 300.0
LOANS_PER_YEAR = 0.75
_KINDS = (ProductKind.KNOWLEDGE_VALUE_CREDIT, ProductKind.IP_PLEDGE, ProductKind.OTHER)
_KIND_MIX = np.array([0.55, 0.25, 0.20])
_MEDIAN_AMOUNT = np.array([250.0, 300.0, 300.0])


def _valid_inventions(ip: pl.DataFrame, startup_ids: list[str], on: DayArray, kinds: tuple[IPKind, ...]) -> IntArray:
    """Per (startup, date) pair: IP of ``kinds`` granted on or before the date and expiring after it."""
    keys = pl.DataFrame({"row": np.arange(len(startup_ids)), "startup_id": startup_ids, "on": on},
                        schema_overrides={"on": pl.Date})
    valid = (
        keys.join(ip.filter(pl.col("kind").is_in([k.value for k in kinds])
                            & pl.col("status").is_in([IPStatus.GRANTED.value, IPStatus.EXPIRED.value])),
                  on="startup_id", how="inner")
        .filter((pl.col("granted_on") <= pl.col("on")) & (pl.col("expires_on") > pl.col("on")))
        .group_by("row").len()
    )
    out = np.zeros(len(startup_ids), dtype=np.int64)
    out[valid["row"].to_numpy()] = valid["len"].to_numpy()
    return out


def _logit_without_intercept(s: StartupWorld, sj: IntArray, *, stage: IntArray, inventions: IntArray,
                             amount: FloatArray, sector_effect: FloatArray, noise: FloatArray) -> FloatArray:
    f = s.frame
    rd = f["rd_expense_wan"].to_numpy()[sj] / np.maximum(f["total_cost_wan"].to_numpy()[sj], 1.0)
    leverage = np.minimum(amount / np.maximum(f["total_assets_wan"].to_numpy()[sj], 1.0), 3.0)
    return np.asarray(
        -3.0 * rd - 0.45 * np.log1p(inventions) + 0.8 * f["credit_flags"].to_numpy()[sj]
        - 0.10 * np.log1p(f["revenue_wan"].to_numpy()[sj]) + 1.0 * leverage - 0.12 * stage
        + sector_effect[s.sector[sj]] - 0.5 * s.quality[sj] + noise, dtype=np.float64)


def _solve_intercept(logit: FloatArray, target: float) -> float:
    lo, hi = -15.0, 15.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if sigmoid(logit + mid).mean() > target:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def make_loans(rng: np.random.Generator, s: StartupWorld, inv: InvestorWorld, *, ip: pl.DataFrame,
               products: pl.DataFrame, hist: History) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Return (loans.csv, truth/loans.csv, truth/startup_pd.csv)."""
    n = len(s.ids)
    borrower = (s.stage_end >= 1) & (s.stage_end < 9) & (rng.random(n) < sigmoid(0.2 + 0.4 * s.quality
                                                                                  + 0.15 * s.stage_end))
    # Borrowers take a loan every 16 months or so while they exist inside the loan window.
    first_all = np.maximum(s.founded + np.timedelta64(180, "D"), LOAN_START)
    span_all = np.maximum((END - np.timedelta64(15, "D") - first_all).astype(np.int64), 0)
    per = np.where(borrower, rng.poisson(LOANS_PER_YEAR * span_all / 365.25), 0)
    sj = np.repeat(np.arange(n), per)
    first, span = first_all[sj], span_all[sj]
    issued = first + (rng.random(sj.size) * span).astype(np.int64).astype("timedelta64[D]")
    m = sj.size
    patents = _valid_inventions(ip, [s.ids[k] for k in sj.tolist()], issued,
                                (IPKind.INVENTION_PATENT, IPKind.UTILITY_MODEL))
    kind = rng.choice(3, size=m, p=_KIND_MIX)
    kind = np.where((kind == 1) & (patents == 0), 0, kind)

    # Roadshow loans: a bank's `invested` outcome, as a knowledge-value credit loan.
    bank_row = {b: k for k, b in enumerate(inv.ids)}
    sj = np.concatenate([sj, hist.loan_startup])
    issued = np.concatenate([issued, hist.loan_issued])
    kind = np.concatenate([kind, np.zeros(hist.loan_startup.size, dtype=np.int64)])
    fixed_bank = np.concatenate([np.full(m, -1), hist.loan_bank])
    m = sj.size

    prod_bank = np.array([bank_row[b] for b in products["bank_id"].to_list()], dtype=np.int64)
    prod_kind = np.array([_KINDS.index(ProductKind(k)) for k in products["kind"].to_list()], dtype=np.int64)
    prod_max = products["max_amount_wan"].to_numpy()
    prod_term = products["max_term_months"].to_numpy()
    # Pick a product of the loan's kind, weighted by the bank's activity; fixed banks use their own.
    score = np.log(inv.activity[prod_bank])[None, :] + rng.gumbel(size=(m, prod_bank.size))
    fits = np.where(fixed_bank[:, None] >= 0, prod_bank[None, :] == fixed_bank[:, None],
                    prod_kind[None, :] == kind[:, None])
    fits[~fits.any(axis=1)] = True  # no bank offers the kind: take any product
    score = np.where(fits, score, -np.inf)
    prod = np.argmax(score, axis=1)
    bank = prod_bank[prod]
    kind = prod_kind[prod]

    base_amount = _MEDIAN_AMOUNT[kind] * np.exp(0.5 * rng.normal(size=m) + 0.3 * s.quality[sj])
    amount = np.where(fixed_bank >= 0, np.concatenate([np.zeros(m - hist.loan_amount.size), hist.loan_amount]),
                      base_amount)
    amount = nice_round(np.clip(amount, 30.0, prod_max[prod]))
    term_choice = rng.choice([12, 24, 36], size=m, p=[0.7, 0.2, 0.1])
    term = np.minimum(np.where(kind == 0, term_choice, rng.choice([12, 24, 36], size=m)), prod_term[prod])

    stage = s.stage_on(sj, issued)
    inventions = _valid_inventions(ip, [s.ids[k] for k in sj.tolist()], issued, (IPKind.INVENTION_PATENT,))
    sector_effect = rng.normal(scale=0.25, size=len(SECTORS))
    raw = _logit_without_intercept(s, sj, stage=stage, inventions=inventions, amount=amount,
                                   sector_effect=sector_effect, noise=rng.normal(scale=0.3, size=m))
    intercept = _solve_intercept(raw, BASE_DEFAULT_RATE)
    pd12 = sigmoid(raw + intercept)
    pd_term = 1 - (1 - pd12) ** (term / 12)

    defaults = rng.random(m) < pd_term
    term_days = (term * 30.44).astype(np.int64).astype("timedelta64[D]")
    default_day = issued + (rng.random(m) * term_days.astype(np.int64)).astype(np.int64).astype("timedelta64[D]")
    matured = issued + term_days <= END
    seen_default = defaults & (default_day + np.timedelta64(90, "D") <= END)
    observed = matured | seen_default

    order = np.lexsort((sj, issued))
    loan_ids = [f"L{k:06d}" for k in range(1, m + 1)]
    loans = pl.DataFrame({
        "loan_id": loan_ids,
        "startup_id": [s.ids[k] for k in sj[order].tolist()],
        "bank_id": [inv.ids[k] for k in bank[order].tolist()],
        "product_kind": [_KINDS[k].value for k in kind[order].tolist()],
        "amount_wan": amount[order],
        "term_months": term[order].astype(np.int64),
        "issued_on": issued[order],
        "defaulted": pl.Series([bool(d) if o else None for d, o in zip(defaults[order].tolist(),
                                                                       observed[order].tolist(), strict=True)],
                               dtype=pl.Boolean),
    })
    truth_loans = pl.DataFrame({"loan_id": loan_ids, "true_pd": np.round(pd_term[order], 6),
                                "true_pd_12m": np.round(pd12[order], 6)})

    all_idx = np.arange(n)
    end_days = np.full(n, END)
    standard = _logit_without_intercept(
        s, all_idx, stage=s.stage_end,
        inventions=_valid_inventions(ip, s.ids, end_days, (IPKind.INVENTION_PATENT,)),
        amount=np.full(n, STANDARD_LOAN_WAN), sector_effect=sector_effect, noise=np.zeros(n))
    startup_pd = pl.DataFrame({"startup_id": s.ids, "true_pd": np.round(sigmoid(standard + intercept), 6)})
    return loans, truth_loans, startup_pd
