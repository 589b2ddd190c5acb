"""How the PD model reads a real loan book (issue 10): credibility-weighted woe, nested places and
sectors, and the ridge scorecard that learns effects the domain does not fix in advance."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from matcher.eligibility import default_policy, load_pd_model, train_pd_model
from matcher.eligibility.loan_features import training_set
from matcher.eligibility.woe import credibility_pseudo_loans, fit_encoder
from matcher.io import read_data_dir


def _levels(rates: np.ndarray, per_level: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = np.full(len(rates), float(per_level))
    pos = rng.binomial(per_level, rates).astype(float)
    return n, pos


def test_credibility_trusts_levels_that_really_differ_and_not_noise() -> None:
    same, same_pos = _levels(np.full(300, 0.15), 40, seed=1)
    noise_m = credibility_pseudo_loans(same, same_pos, np.full(300, same_pos.sum() / same.sum()))
    rng = np.random.default_rng(2)
    rates = 1 / (1 + np.exp(-(np.log(0.15 / 0.85) + rng.normal(0, 0.6, 300))))
    real, real_pos = _levels(rates, 40, seed=3)
    real_m = credibility_pseudo_loans(real, real_pos, np.full(300, real_pos.sum() / real.sum()))
    # Bühlmann: m = within variance / between variance ≈ p(1-p) / (sd of true rates)².
    expected = 0.15 * 0.85 / np.var(rates)
    assert 0.5 * expected < real_m < 2 * expected
    assert noise_m > 10 * real_m


def test_a_city_is_encoded_against_its_region() -> None:
    # Two regions with very different default rates; within each, cities default at the region's rate,
    # except one city that defaults twice as often as its region.
    rows = []
    for region, rate in (("north", 0.05), ("south", 0.30)):
        for k in range(8):
            city = f"{region}-{k}"
            city_rate = 2 * rate if (region, k) == ("south", 0) else rate
            rows += [{"region": region, "city": city, "y": int(i < round(400 * city_rate))} for i in range(400)]
    frame = pl.DataFrame(rows)
    encoder = fit_encoder(frame, frame["y"].to_numpy(), ("region", "city"), smoothing="credibility", min_count=10)
    region_code, city_code = encoder.codes["region"], encoder.codes["city"]
    assert city_code.parent == "region"
    assert region_code.woe["south"] - region_code.woe["north"] > 1.5
    # Cities that default at their region's rate carry no evidence beyond it; the odd one does.
    assert max(abs(city_code.woe[f"north-{k}"]) for k in range(8)) < 0.05
    assert city_code.woe["south-0"] - max(city_code.woe[f"south-{k}"] for k in range(1, 8)) > 0.5


def _book(directory: Path, loans: int = 3000, seed: int = 0) -> Path:
    """An SBA-like book: loans of 20 years and more are backed by real estate and rarely default."""
    rng = np.random.default_rng(seed)
    term = rng.choice([36, 60, 84, 240, 300], loans, p=[0.25, 0.3, 0.25, 0.1, 0.1])
    city = rng.integers(0, 400, loans)
    city_effect = rng.normal(0, 0.5, 400)
    logit = np.log(0.2 / 0.8) - 2.5 * (term >= 240) + city_effect[city]
    defaulted = rng.random(loans) < 1 / (1 + np.exp(-logit))
    issued = [date(2015, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 6 * 365, loans)]
    directory.mkdir()
    pl.DataFrame({"startup_id": [f"S{i}" for i in range(loans)], "name": [f"Firm {i}" for i in range(loans)],
                  "city": [f"C{c}" for c in city]}).write_csv(directory / "startups.csv")
    pl.DataFrame({"loan_id": [f"L{i}" for i in range(loans)], "startup_id": [f"S{i}" for i in range(loans)],
                  "amount_wan": np.round(rng.lognormal(4, 0.7, loans), 1), "term_months": term,
                  "issued_on": [d.isoformat() for d in issued], "defaulted": defaulted.astype(int)}
                 ).write_csv(directory / "loans.csv")
    return directory


def test_the_term_effect_is_learned_from_the_book_and_survives_saving(tmp_path: Path) -> None:
    data = read_data_dir(_book(tmp_path / "book"))
    policy = default_policy()
    model = train_pd_model(data.startups, data.ip_assets, data.loans, as_of=None, policy=policy,
                           params={"exclude": ("issue_year", "issue_month")})
    ts = training_set(data.startups, data.ip_assets, data.loans, as_of=None, policy=policy)
    base = ts.features.head(1)
    short, long = (base.with_columns(pl.lit(float(t)).alias("term_months")) for t in (60, 240))
    # Long loans are safer on this book: no monotone constraint on the term stops the model seeing it.
    assert model.predict_pd(long)[0] < 0.5 * model.predict_pd(short)[0]
    loaded = load_pd_model(model.save(tmp_path / "m.skops"))
    np.testing.assert_allclose(loaded.predict_pd(ts.features), model.predict_pd(ts.features))
    assert loaded.card() == model.card()
