"""A real-shaped loan book for the eligibility benchmark: government-guaranteed small-business loans in
the shape, and with the published default structure, of the U.S. SBA 7(a) loan data.

Why: the sample world's defaults follow a logistic model of firm profiles (R&D, patents, revenue) that
a real SME book does not have. Banks' own books look like the SBA's: amount, approval date, a 6-digit
NAICS code, state, city, bank, head count, new or existing firm, term; nothing about revenue, R&D or IP.
The real file is not shipped here (no network at run time), so this generator reproduces its shape and
its published facts, and the benchmark fits every model to it the same way.

Sources (figures as published, rounded; used as the latent structure, not as a claim about any loan):
- Li, Mickel & Taylor (2018), "Should This Loan be Approved or Denied?": A Large Dataset with Class
  Assignment Guidelines, Journal of Statistics Education 26(1), 55–66 (the SBAnational.csv data set,
  899,164 loans, fiscal years 1962–2014, 27 columns: City, State, Zip, Bank, BankState, NAICS,
  ApprovalDate, Term, NoEmp, NewExist, CreateJob, RetainedJob, UrbanRural, DisbursementGross, MIS_Status
  (CHGOFF / P I F), ...). Overall charge-off rate about 17.6 %; charge-off rate by NAICS sector (their
  Table 3): real estate 53 ≈ 29 %, finance 52 ≈ 28 %, transportation 48–49 ≈ 27 %, information 51 ≈ 25 %,
  education 61 ≈ 24 %, admin/support 56 ≈ 24 %, construction 23 ≈ 23 %, retail 44–45 ≈ 22 %,
  accommodation/food 72 ≈ 22 %, arts 71 ≈ 21 %, other services 81 ≈ 20 %, wholesale 42 ≈ 19 %,
  professional/scientific 54 ≈ 19 %, manufacturing 31–33 ≈ 15 %, public administration 92 ≈ 15 %,
  utilities 22 ≈ 14 %, health care 62 ≈ 10 %, management 55 ≈ 10 %, agriculture 11 ≈ 9 %, mining 21 ≈ 8 %.
  Loans backed by real estate (term ≥ 240 months) charge off about 1.6 % against about 21 % otherwise;
  loans active during the Great Recession (Dec 2007 – Jun 2009) about 32 % against about 17 %.
- U.S. SBA, 7(a) & 504 FOIA loan data dictionary (columns and codes: NewExist 1 = existing, 2 = new
  business; UrbanRural 1 = urban, 2 = rural); the data set's own distributions: median NoEmp 4,
  median gross disbursement about $100,000 with a long right tail, about 32,000 distinct city names
  and 5,800 banks, states from about 1 % (Vermont, Wyoming) to 13 % (California) of the loans, with
  charge-off rates from about 7–9 % (Montana, Vermont, Wyoming, the Dakotas) to 24–27 % (Florida,
  Georgia, Nevada, Michigan); approvals of 2005–2007 charged off at 30 % and more, those of the late
  1990s at about 10–15 %.

Shape written (the contract's files, DATA_FORMAT.md): ``startups.csv`` (startup_id, name, sector =
the NAICS code, region = state, city, employees, founded_on: a new business 0–2 years old at approval,
an existing one 2–30), ``investors.csv`` (the banks, kind ``bank``), ``loans.csv`` (loan_id,
startup_id, bank_id, amount_wan = disbursement in 万元 at 6.5 CNY per USD, term_months, issued_on,
defaulted). ``columns="five"`` writes the five-column book (ids, amount, date, outcome) instead.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

# NAICS 2-digit sector → (share of loans, published charge-off rate).
SECTORS: dict[str, tuple[float, float]] = {
    "44": (0.14, 0.22), "72": (0.10, 0.22), "81": (0.11, 0.20), "54": (0.11, 0.19), "23": (0.09, 0.23),
    "62": (0.07, 0.10), "42": (0.06, 0.19), "31": (0.07, 0.15), "56": (0.05, 0.24), "48": (0.04, 0.27),
    "71": (0.03, 0.21), "53": (0.03, 0.29), "51": (0.03, 0.25), "11": (0.02, 0.09), "52": (0.02, 0.28),
    "61": (0.01, 0.24), "21": (0.005, 0.08), "22": (0.003, 0.14), "55": (0.002, 0.10), "92": (0.002, 0.15),
}
# State → (share of loans, charge-off rate); the rest of the states share what is left at the mean rate.
STATES: dict[str, tuple[float, float]] = {
    "CA": (0.13, 0.20), "TX": (0.08, 0.19), "NY": (0.06, 0.21), "FL": (0.05, 0.27), "PA": (0.04, 0.14),
    "OH": (0.04, 0.17), "IL": (0.03, 0.21), "MA": (0.03, 0.12), "MN": (0.03, 0.12), "NJ": (0.03, 0.20),
    "WA": (0.03, 0.13), "GA": (0.025, 0.25), "CO": (0.025, 0.17), "MI": (0.025, 0.24), "UT": (0.02, 0.18),
    "WI": (0.02, 0.12), "NC": (0.02, 0.17), "MO": (0.02, 0.17), "VA": (0.02, 0.19), "NV": (0.012, 0.26),
    "MT": (0.011, 0.07), "VT": (0.01, 0.08), "WY": (0.006, 0.08), "ND": (0.007, 0.07), "SD": (0.007, 0.08),
}
OVERALL_RATE = 0.176
FIRST_DAY, LAST_DAY = date(2001, 1, 1), date(2011, 12, 31)
CNY_PER_USD = 6.5


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.asarray(p, dtype=float)
    return np.log(q / (1 - q))


def _vintage(years: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Log-odds shift by approval date: late 1990s-like early years, the 2005–2007 cohorts that met the
    recession, quieter after."""
    t = years + (months - 1) / 12
    boom = np.exp(-(((t - 2006.5) / 1.3) ** 2))
    return -0.35 + 1.25 * boom - 0.35 * (t > 2009.5)


def generate(n_loans: int = 40_000, *, seed: int = 0) -> dict[str, pl.DataFrame]:
    """Startups, banks and loans frames of one book (one firm per loan, as the SBA file has)."""
    rng = np.random.default_rng(seed)
    codes = list(SECTORS)
    shares = np.array([SECTORS[c][0] for c in codes])
    sector2 = rng.choice(codes, n_loans, p=shares / shares.sum())
    # Several 6-digit codes per sector, Zipf-like, each with its own small effect.
    sub = np.minimum(rng.zipf(1.6, n_loans), 40)
    naics = np.array([f"{s}{(1000 + 37 * k) % 9000 + 1000:04d}" for s, k in zip(sector2, sub, strict=True)])
    state_codes = [*STATES, *(f"S{k:02d}" for k in range(26))]
    state_shares = np.array([STATES[s][0] for s in STATES] + [(1 - sum(v[0] for v in STATES.values())) / 26] * 26)
    state = rng.choice(state_codes, n_loans, p=state_shares / state_shares.sum())
    # Cities: many per state, heavy-tailed; each carries a random effect (local economy).
    city_rank = np.minimum(rng.zipf(1.3, n_loans), 1500)
    city = np.array([f"{s}-city-{r:04d}" for s, r in zip(state, city_rank, strict=True)])
    n_banks = 800
    bank_rank = np.minimum(rng.zipf(1.25, n_loans), n_banks) - 1
    bank = np.array([f"BK{r:04d}" for r in bank_rank])
    employees = np.maximum(1, np.round(rng.lognormal(1.45, 1.1, n_loans))).astype(int)
    new_firm = rng.random(n_loans) < 0.28
    real_estate = rng.random(n_loans) < 0.16
    term = np.where(real_estate, rng.choice([240, 300], n_loans),
                    rng.choice([36, 60, 84, 120], n_loans, p=[0.15, 0.3, 0.4, 0.15]))
    usd = np.round(np.exp(rng.normal(11.5, 1.0, n_loans) + 0.8 * real_estate), -2)
    span = (LAST_DAY - FIRST_DAY).days
    day = rng.integers(0, span + 1, n_loans)
    issued = np.array([FIRST_DAY + timedelta(days=int(d)) for d in day])
    years = np.array([d.year for d in issued])
    months = np.array([d.month for d in issued])

    state_effect = {s: _logit(STATES[s][1]) - _logit(OVERALL_RATE) if s in STATES else 0.0 for s in state_codes}
    sector_effect = {c: _logit(SECTORS[c][1]) - _logit(OVERALL_RATE) for c in codes}
    city_effect = dict(zip(np.unique(city), rng.normal(0, 0.35, np.unique(city).size), strict=True))
    bank_effect = rng.normal(0, 0.45, n_banks)
    code_effect = dict(zip(np.unique(naics), rng.normal(0, 0.25, np.unique(naics).size), strict=True))
    logit = (
        np.array([sector_effect[c] for c in sector2]) + np.array([code_effect[c] for c in naics])
        + np.array([state_effect[s] for s in state]) + np.array([city_effect[c] for c in city])
        + bank_effect[bank_rank]
        - 2.6 * real_estate
        + 0.18 * new_firm
        - 0.28 * (np.log(usd) - 11.5)
        - 0.12 * np.log1p(employees)
        + _vintage(years, months) * (1 + 0.5 * np.isin(sector2, ["23", "53", "44"]))
        + rng.normal(0, 0.3, n_loans)
    )
    # The intercept that gives the published overall rate on this book.
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(logit + mid)))) > OVERALL_RATE:
            hi = mid
        else:
            lo = mid
    pd = 1 / (1 + np.exp(-(logit + lo)))
    defaulted = rng.random(n_loans) < pd
    age_years = np.where(new_firm, rng.uniform(0, 2, n_loans), rng.uniform(2, 30, n_loans))
    founded = [d - timedelta(days=int(a * 365.25)) for d, a in zip(issued, age_years, strict=True)]
    ids = [f"F{k:06d}" for k in range(n_loans)]
    startups = pl.DataFrame({
        "startup_id": ids, "name": [f"Small Business {k}" for k in range(n_loans)], "sector": naics,
        "region": state, "city": city, "employees": employees, "founded_on": founded,
    })
    banks = pl.DataFrame({"investor_id": [f"BK{r:04d}" for r in range(n_banks)],
                          "name": [f"Bank {r}" for r in range(n_banks)], "kind": ["bank"] * n_banks})
    loans = pl.DataFrame({
        "loan_id": [f"L{k:06d}" for k in range(n_loans)], "startup_id": ids, "bank_id": bank,
        "amount_wan": np.round(usd * CNY_PER_USD / 10_000, 2), "term_months": term,
        "issued_on": pl.Series(issued.tolist(), dtype=pl.Date),
        "defaulted": defaulted.astype(int),
    })
    return {"startups": startups, "investors": banks, "loans": loans,
            "truth": pl.DataFrame({"loan_id": loans["loan_id"], "true_pd": pd})}


def write_book(out: Path, n_loans: int = 40_000, *, seed: int = 0,
               columns: Literal["full", "five"] = "full") -> Path:
    """Write the book as a data directory (``truth/loans.csv`` holds each loan's true PD)."""
    frames = generate(n_loans, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    frames["truth"].write_csv(out / "truth" / "loans.csv")
    if columns == "five":
        frames["startups"].select("startup_id", "name").write_csv(out / "startups.csv")
        frames["loans"].select("loan_id", "startup_id", "amount_wan", "issued_on", "defaulted").write_csv(
            out / "loans.csv")
        return out
    frames["startups"].write_csv(out / "startups.csv")
    frames["investors"].write_csv(out / "investors.csv")
    frames["loans"].write_csv(out / "loans.csv")
    return out
