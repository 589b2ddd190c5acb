"""The PD model (issue 5): training window, no leakage, persistence, the prior fallback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from matcher.eligibility import (
    PRIOR_MODEL_PATH,
    assess,
    default_policy,
    load_pd_model,
    train_pd_model,
)
from matcher.eligibility.pd_model import FEATURES, training_set
from matcher.errors import InvalidInputError, NotFittedError
from tests.factories import (
    ELIGIBILITY_AS_OF,
    eligibility_data,
    eligibility_firm,
    eligibility_ip,
    eligibility_loan_book,
    eligibility_model,
)


def test_training_uses_only_loans_issued_before_the_date_with_known_outcome() -> None:
    book = eligibility_loan_book()
    cut = date(2024, 1, 1)
    # One loan in 25 still running (outcome unknown): every quarter stays mature.
    loans = book.loans.with_columns(
        pl.when(pl.int_range(pl.len()) % 25 == 0).then(None).otherwise(pl.col("defaulted")).alias("defaulted")
    )
    ts = training_set(book.startups, book.ip_assets, loans, as_of=cut, policy=default_policy())
    expected = loans.filter((pl.col("issued_on") < cut) & pl.col("defaulted").is_not_null()).height
    assert ts.features.height == expected == len(ts.defaulted)
    assert (ts.issued_on < cut).all()
    assert ts.features.columns == list(FEATURES)


def test_a_quarter_of_mostly_running_loans_is_left_out() -> None:
    # The last quarter's loans are mostly still running; its few known outcomes are early defaults,
    # which would teach the model that recent loans default.
    book = eligibility_loan_book()
    last = book.loans["issued_on"].max()
    assert isinstance(last, date)
    start = date(last.year, 3 * ((last.month - 1) // 3) + 1, 1)
    recent = pl.col("issued_on") >= start
    loans = book.loans.with_columns(
        pl.when(recent & ~pl.col("defaulted") & (pl.int_range(pl.len()) % 10 != 0)).then(None)
        .otherwise(pl.col("defaulted")).alias("defaulted")
    )
    ts = training_set(book.startups, book.ip_assets, loans, as_of=None, policy=default_policy())
    assert (ts.issued_on < start).all()
    assert ts.features.height == loans.filter(~recent).height


def test_firm_features_are_taken_as_of_each_loans_issue_date() -> None:
    firm = eligibility_firm("F1")
    ip = eligibility_ip("F1", granted_on=date(2024, 1, 1))
    loans = [
        {"loan_id": "L1", "startup_id": "F1", "issued_on": date(2023, 6, 1), "defaulted": False},
        {"loan_id": "L2", "startup_id": "F1", "issued_on": date(2024, 6, 1), "defaulted": False},
    ]
    data = eligibility_data([firm], [ip], loans)
    ts = training_set(data.startups, data.ip_assets, data.loans, as_of=None, policy=default_policy())
    # The patent granted in 2024 does not exist for the 2023 loan.
    assert ts.features["valid_invention_patents"].to_list() == [0.0, 1.0]
    assert ts.features["tech_sme_score"].to_list() == [70.0, 100.0]
    ages = ts.features["firm_age_years"].to_list()
    assert ages[1] - ages[0] == pytest.approx(366 / 365.25)


def test_model_learns_the_known_directions_and_is_calibrated_on_average() -> None:
    model = eligibility_model()
    book = eligibility_loan_book()
    ts = training_set(book.startups, book.ip_assets, book.loans, as_of=None, policy=default_policy())
    pd = model.predict_pd(ts.features)
    assert abs(pd.mean() - ts.defaulted.mean()) < 0.03
    flagged = ts.features["credit_flags"].to_numpy() > 0
    assert pd[flagged].mean() > pd[~flagged].mean()
    assert model.n_loans_ == len(ts.defaulted)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = eligibility_model()
    path = model.save(tmp_path / "m.skops")
    loaded = load_pd_model(path)
    book = eligibility_loan_book()
    ts = training_set(book.startups, book.ip_assets, book.loans, as_of=None, policy=default_policy())
    np.testing.assert_allclose(loaded.predict_pd(ts.features), model.predict_pd(ts.features))
    assert (loaded.model_version_, loaded.source, loaded.feature_names(), loaded.card()) == (
        model.model_version_, "trained", model.feature_names(), model.card())


def test_same_training_gives_the_same_version() -> None:
    book = eligibility_loan_book(n_firms=150)
    params = {"random_state": 3}
    a = train_pd_model(book.startups, book.ip_assets, book.loans, as_of=None, policy=default_policy(), params=params)
    b = train_pd_model(book.startups, book.ip_assets, book.loans, as_of=None, policy=default_policy(), params=params)
    assert a.model_version_ == b.model_version_


_TRAIN_AND_PRINT_VERSION = """
from matcher.eligibility import default_policy, train_pd_model
from tests.factories import eligibility_loan_book
book = eligibility_loan_book(n_firms=400)
print(train_pd_model(book.startups, book.ip_assets, book.loans, as_of=None, policy=default_policy()).model_version_)
"""


@pytest.mark.slow
def test_same_loans_give_the_same_version_in_every_process() -> None:
    # Each process has its own hash seed and thread timing, which is where group_by orders came from.
    root = Path(__file__).resolve().parents[2]
    versions = {
        subprocess.run([sys.executable, "-c", _TRAIN_AND_PRINT_VERSION], capture_output=True, text=True, check=True,
                       cwd=root, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout.strip()
        for seed in range(3)
    }
    assert len(versions) == 1, versions


def test_loading_rejects_bad_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError) as info:
        load_pd_model(junk)
    assert info.value.field == "model"
    with pytest.raises(InvalidInputError, match="no model file"):
        load_pd_model(tmp_path / "absent.skops")


def test_too_little_history_cannot_train() -> None:
    data = eligibility_data([eligibility_firm()], loans=[
        {"loan_id": "L1", "startup_id": "F1", "issued_on": date(2023, 1, 1), "defaulted": True}])
    with pytest.raises(NotFittedError, match="1 labelled loans, 1 defaults"):
        train_pd_model(data.startups, data.ip_assets, data.loans, as_of=None, policy=default_policy())


def test_a_bank_without_history_gets_the_prior_and_is_told_so() -> None:
    # The prior ships inside the package: without it a bank with no loan book gets no decision at all.
    assert PRIOR_MODEL_PATH.is_file()
    d = assess(eligibility_data([eligibility_firm()], [eligibility_ip()]), product="knowledge_value_credit",
               as_of=ELIGIBILITY_AS_OF)[0]
    assert d.model_source == "prior"
    assert 0.0 <= d.pd <= 1.0
