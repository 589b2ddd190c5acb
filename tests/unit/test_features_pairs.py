"""Investor and pair features (issue 3): declared/learned fits, text similarity, and no leakage."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.features import PAIR_FEATURES, PairFeaturizer, investor_profiles, startup_features
from matcher.io import DataSet, from_frames
from tests.factories import RANKING_AS_OF, ranking_world

COL = {n: j for j, n in enumerate(PAIR_FEATURES)}


def _all_pairs(f: PairFeaturizer, data: DataSet) -> np.ndarray:
    block = f.prepare(data.startups, data.ip_assets)
    s = np.repeat(np.arange(len(block)), len(f.investor_ids_))
    i = np.tile(np.arange(len(f.investor_ids_)), len(block))
    return f.transform(block, s, i)


def _pair(f: PairFeaturizer, data: DataSet, sid: str, iid: str) -> dict[str, float]:
    block = f.prepare(data.startups.filter(pl.col("startup_id") == sid), data.ip_assets)
    row = f.transform(block, np.array([0]), np.array([f.investor_ids_.tolist().index(iid)]))[0]
    return {n: float(row[j]) for n, j in COL.items()}


def test_declared_fits_are_hand_computable() -> None:
    data = ranking_world()
    f = PairFeaturizer().fit(data, RANKING_AS_OF)
    robot = _pair(f, data, "S_new_robotics", "I_robot")  # robotics, stage a, ask 1000, 湖南
    assert robot["declared_sector_fit"] == 1.0
    assert robot["declared_stage_fit"] == 1.0
    assert robot["declared_region_fit"] == 1.0
    assert robot["declared_ticket_fit"] == 1.0 and robot["declared_ticket_gap"] == 0.0
    energy = _pair(f, data, "S_new_robotics", "I_energy")  # declares 新能源, stages b/c, 2000–10000万
    assert energy["declared_sector_fit"] == 0.0 and energy["declared_stage_fit"] == 0.0
    assert energy["declared_ticket_fit"] == 0.0
    assert energy["declared_ticket_gap"] == pytest.approx(np.log1p(2000) - np.log1p(1000), rel=1e-5)
    bank = _pair(f, data, "S_new_robotics", "I_bank")  # declares nothing: unknown, not a mismatch
    assert np.isnan(bank["declared_sector_fit"]) and np.isnan(bank["declared_ticket_fit"])


def test_learned_preferences_come_from_weighted_history() -> None:
    data = ranking_world()
    f = PairFeaturizer().fit(data, RANKING_AS_OF)
    robot = _pair(f, data, "S_new_robotics", "I_robot")
    assert robot["learned_sector_share"] == 1.0  # it engaged only with robot makers
    assert robot["learned_stage_share"] == 1.0
    assert _pair(f, data, "S_new_robotics", "I_bio")["learned_sector_share"] == 0.0
    assert _pair(f, data, "S_new_robotics", "I_cold")["log_n_interactions"] == 0.0
    # 4 invested (weight 4) and 4 interested (weight 2) robot deals, as a yearly rate over the history
    # that starts with the first interaction (2023-01-13)
    years = (RANKING_AS_OF - date(2023, 1, 13)).days / 365.25
    assert f.history_years_ == pytest.approx(years)
    assert robot["log_sector_engagement"] == pytest.approx(np.log1p((4 * 4 + 4 * 2) / years), rel=1e-5)
    assert robot["sector_engagement_relative"] == 1.0


def test_text_similarity_prefers_the_investor_whose_portfolio_reads_alike() -> None:
    data = ranking_world()
    f = PairFeaturizer().fit(data, RANKING_AS_OF)
    same = _pair(f, data, "S_new_biomedicine", "I_bio")["text_sim_portfolio"]
    other = _pair(f, data, "S_new_biomedicine", "I_energy")["text_sim_portfolio"]
    assert same > 0.3 > other


def test_free_text_sectors_unknown_to_the_taxonomy_still_match() -> None:
    data = ranking_world(with_ip=False, free_text_sectors=True)
    f = PairFeaturizer().fit(data, RANKING_AS_OF)
    assert _pair(f, data, "S_new_robotics", "I_robot")["learned_sector_share"] == 1.0
    assert _pair(f, data, "S_new_robotics", "I_bio")["learned_sector_share"] == 0.0


def test_co_investor_score_links_investors_seen_at_the_same_startups() -> None:
    data = ranking_world()
    f = PairFeaturizer().fit(data, RANKING_AS_OF)
    # S_robotics_1 dealt with I_robot; I_bank and I_robot share declined/engaged startups only via
    # declines (weight 0), so only investors with common *engagements* score.
    assert _pair(f, data, "S_robotics_1", "I_robot")["co_investor_score"] == 0.0
    assert _pair(f, data, "S_new_robotics", "I_robot")["co_investor_score"] == 0.0
    assert _pair(f, data, "S_new_robotics", "I_robot")["startup_history"] == 0.0
    assert _pair(f, data, "S_robotics_1", "I_robot")["startup_history"] > 0.0


def _with_extra(data: DataSet, rows: list[dict[str, object]]) -> DataSet:
    extra = from_frames(interactions=pl.DataFrame(rows)).interactions
    return DataSet(startups=data.startups, ip_assets=data.ip_assets, investors=data.investors,
                   interactions=pl.concat([data.interactions, extra]))


outcomes = st.sampled_from(["requested", "met", "declined", "interested", "intent_signed", "invested"])


@settings(max_examples=10)  # each example fits the featurizer twice
@given(
    startup=st.sampled_from(["S_new_robotics", "S_robotics_0", "S_bio_x", "S_biomedicine_3"]),
    investor=st.sampled_from(["I_robot", "I_bio", "I_energy", "I_bank", "I_cold"]),
    outcome=outcomes,
    days_after=st.integers(0, 800),
)
def test_a_future_interaction_never_changes_a_past_feature(
    startup: str, investor: str, outcome: str, days_after: int
) -> None:
    data = ranking_world()
    if startup == "S_bio_x":  # a startup that only exists in the future
        data.startups = pl.concat([data.startups, from_frames(startups=pl.DataFrame(
            [{"startup_id": "S_bio_x", "name": "x", "sector": "生物医药", "description": "抗体药物"}])).startups])
    later = _with_extra(data, [{"startup_id": startup, "investor_id": investor, "outcome": outcome,
                                "occurred_on": RANKING_AS_OF + timedelta(days=days_after), "amount_wan": 1e5}])
    before = _all_pairs(PairFeaturizer().fit(data, RANKING_AS_OF), data)
    after = _all_pairs(PairFeaturizer().fit(later, RANKING_AS_OF), data)
    np.testing.assert_array_equal(before, after)
    feats = startup_features(data.startups, data.ip_assets, RANKING_AS_OF)
    p0 = investor_profiles(data.investors, data.interactions, feats, RANKING_AS_OF)
    p1 = investor_profiles(later.investors, later.interactions, feats, RANKING_AS_OF)
    assert p0.summary.equals(p1.summary) and p0.sector.equals(p1.sector) and p0.portfolio.equals(p1.portfolio)


def test_a_past_interaction_does_change_features() -> None:
    """The no-leakage test above is not vacuous: the same row dated before the as-of date matters."""
    data = ranking_world()
    earlier = _with_extra(data, [{"startup_id": "S_robotics_0", "investor_id": "I_bio", "outcome": "invested",
                                  "occurred_on": RANKING_AS_OF - timedelta(days=1)}])
    assert not np.array_equal(_all_pairs(PairFeaturizer().fit(data, RANKING_AS_OF), data),
                              _all_pairs(PairFeaturizer().fit(earlier, RANKING_AS_OF), data), equal_nan=True)


def test_features_work_without_any_history_or_text() -> None:
    data = from_frames(
        startups=pl.DataFrame([{"startup_id": "A", "name": "a"}]),
        investors=pl.DataFrame([{"investor_id": "I", "name": "i"}]),
    )
    f = PairFeaturizer().fit(data, date(2025, 1, 1))
    feats = _all_pairs(f, data)
    assert feats.shape == (1, len(PAIR_FEATURES))
    assert feats[0, COL["text_sim_portfolio"]] == 0.0


def test_linear_grid_equals_the_linear_model_on_materialised_features() -> None:
    """The candidate stage's shortcut computes exactly what the full features would give."""
    from matcher.features.pairs import GRID_FEATURES

    data = ranking_world()
    f = PairFeaturizer().fit(data, RANKING_AS_OF)
    block = f.prepare(data.startups, data.ip_assets)
    rng = np.random.default_rng(3)
    coef = {name: float(rng.normal()) for name in GRID_FEATURES}
    grid = f.linear_grid(block, np.arange(len(block)), coef, 0.5)
    feats = _all_pairs(f, data)
    cols = [COL[n] for n in GRID_FEATURES]
    expected = 0.5 + np.nan_to_num(feats[:, cols]) @ np.array([coef[n] for n in GRID_FEATURES])
    np.testing.assert_allclose(grid.ravel(), expected, rtol=1e-4, atol=1e-4)


def test_one_investors_first_stage_equals_the_batch_grid_and_its_features() -> None:
    """Issue 9 (speed): one investor's list restricts the investor columns to that investor (dense, the two
    text similarities combined before the product); its first-stage scores are the batch grid's column,
    and its features (the re-rank's) the batch features, co-investment included."""
    from typing import Any

    from matcher.features.pairs import GRID_FEATURES
    from tests.factories import synthetic_world

    world: Any = synthetic_world()
    data = world.data
    f = PairFeaturizer().fit(data, date(2025, 7, 1))
    block = f.prepare(data.startups, data.ip_assets)
    rows = np.arange(len(block))
    coef = {name: float(c) for name, c in zip(GRID_FEATURES, np.random.default_rng(4).normal(size=len(GRID_FEATURES)),
                                              strict=True)}
    batch = f.linear_grid(block, rows, coef, 0.5)  # every investor at once: the columns are not restricted
    n_inv = len(f.investor_ids_)
    every = f.transform(block, np.repeat(rows, n_inv), np.tile(np.arange(n_inv), len(rows))).reshape(
        len(rows), n_inv, -1)
    busiest = np.argsort(-np.asarray(f.engagement_.sum(axis=0)).ravel())[:3]
    for inv in busiest:
        one = np.array([inv])
        assert f._investor_columns(one)[3]  # the restricted path is the one measured here
        np.testing.assert_allclose(f.linear_grid(block, rows, coef, 0.5, one)[:, 0], batch[:, inv],
                                   rtol=1e-5, atol=1e-5)
        alone = f.transform(block, rows, np.full(len(rows), inv))
        np.testing.assert_allclose(alone, every[:, inv], rtol=1e-5, atol=1e-6)
        assert (alone[:, COL["co_investor_score"]] > 0).any()
