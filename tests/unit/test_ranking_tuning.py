"""The self-tuning default model (issue 9): what it chooses on tiny and on informative histories, the
choice rule's guarantees, and that nothing on or after the as-of date reaches it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.io import DataSet
from matcher.ranking import LearnedRecommender, get_model, tune
from matcher.ranking.tuning import Candidate, candidates, choose, validation_cutoffs
from tests.factories import CLUB_AS_OF, RANKING_AS_OF, club_world, ranking_world

SIMPLE = {"popularity", "recent_popularity", "sector_popularity", "declared"}


@pytest.fixture(scope="module")
def club() -> DataSet:
    return club_world(n_startups=150)


@pytest.fixture(scope="module")
def club_model(club: DataSet) -> LearnedRecommender:
    model = get_model("learned").fit(club, CLUB_AS_OF)
    assert isinstance(model, LearnedRecommender)
    return model


def test_tiny_history_chooses_a_baseline() -> None:
    result = tune(ranking_world(), RANKING_AS_OF)
    assert {c.model for c in result.chosen.values()} <= SIMPLE
    # Too few validation startups for the trees to earn a place: only the baselines were tried.
    assert set(result.table["candidate"]) == SIMPLE
    assert "only the baselines compete" in result.note


def test_no_history_at_all_falls_back_to_declared_preferences() -> None:
    world = ranking_world()
    future = replace(world, interactions=world.interactions.filter(pl.col("occurred_on") >= RANKING_AS_OF))
    model = get_model("learned").fit(future, RANKING_AS_OF)
    assert isinstance(model, LearnedRecommender)
    assert set(model.chosen_.values()) == {"declared"} and model.cutoffs_ == []
    top = model.recommend(future, ["S_new_robotics"], k=1)
    assert top["investor_id"].to_list() == ["I_robot"]  # the robot fund declares the robot sector


def test_co_investment_history_chooses_the_boosted_trees_for_warm_startups(club_model: LearnedRecommender) -> None:
    report = club_model.tuning_report()
    assert report.chosen["warm"].model == "boosted"
    warm = report.table.filter(pl.col("segment") == "warm")
    ndcg = dict(zip(warm["candidate"], warm["ndcg"], strict=True))
    best_baseline = max(ndcg[name] for name in SIMPLE)
    # Clubs are invisible to every baseline; the trees read them off the co-investment graph.
    assert ndcg[report.chosen["warm"].label] > best_baseline + 0.2


def test_the_refitted_model_ranks_club_members_first_for_a_warm_startup(club: DataSet,
                                                                        club_model: LearnedRecommender) -> None:
    before = club.interactions.filter(pl.col("occurred_on") < CLUB_AS_OF)
    warm = before.group_by("startup_id").len().filter(pl.col("len") >= 2)["startup_id"].sort()[:10].to_list()
    recs = club_model.recommend(club, warm, k=2)
    club_of = {sid: int(sid[1:]) % 6 for sid in warm}
    share = np.mean([inv.startswith(f"I{club_of[sid]}_") for sid, inv in recs.select("startup_id", "investor_id")
                     .iter_rows()])
    assert share >= 0.8


def test_nothing_on_or_after_the_as_of_date_changes_the_choice_or_the_scores(
        club: DataSet, club_model: LearnedRecommender) -> None:
    future = pl.col("occurred_on") >= CLUB_AS_OF
    assert club.interactions.filter(future).height > 0
    # Move every future interaction later still and give it to another investor, with a weaker outcome.
    moved = club.interactions.with_columns(
        pl.when(future).then(pl.col("occurred_on") + timedelta(days=400)).otherwise(pl.col("occurred_on"))
        .alias("occurred_on"),
        pl.when(future).then(pl.lit("I0_0")).otherwise(pl.col("investor_id")).alias("investor_id"),
        pl.when(future).then(pl.lit("met")).otherwise(pl.col("outcome")).alias("outcome"),
    )
    other = get_model("learned").fit(replace(club, interactions=moved), CLUB_AS_OF)
    assert isinstance(other, LearnedRecommender)
    assert other.chosen_ == club_model.chosen_ and other.cutoffs_ == club_model.cutoffs_
    assert other.tuning_report().table.equals(club_model.tuning_report().table)
    n_inv = club.investors.height
    pairs = pl.DataFrame({"startup_id": np.repeat(club.startups["startup_id"].to_numpy()[:40], n_inv),
                          "investor_id": np.tile(club.investors["investor_id"].to_numpy(), 40)})
    np.testing.assert_array_equal(other.score_pairs(club, pairs), club_model.score_pairs(club, pairs))


def test_validation_periods_lie_before_the_as_of_date_and_leave_history_before_them(club: DataSet) -> None:
    cutoffs = validation_cutoffs(club.interactions, CLUB_AS_OF)
    first = club.interactions["occurred_on"].min()
    assert isinstance(first, date)
    assert len(cutoffs) == 2 and cutoffs == sorted(cutoffs, reverse=True)
    assert all(c <= CLUB_AS_OF - timedelta(days=30) and (c - first).days >= 60 for c in cutoffs)
    assert validation_cutoffs(club.interactions, first + timedelta(days=40)) == []


CANDS: list[Candidate] = candidates()


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=40), st.integers(min_value=0, max_value=2**31 - 1))
def test_the_choice_is_never_below_the_best_baseline_and_is_the_simplest_close_to_the_best(
        n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = {c.label: rng.random(n) * rng.random() for c in CANDS}
    chosen, se = choose(scores, CANDS)
    means = {label: float(v.mean()) for label, v in scores.items()}
    floor = max(means[c.label] for c in CANDS if c.model in SIMPLE)
    assert means[chosen.label] >= floor
    best = max(means[c.label] for c in CANDS if means[c.label] >= floor)
    assert means[chosen.label] >= best - se[chosen.label] - 1e-12
    simpler = [c for c in CANDS
               if c.rank < chosen.rank and means[c.label] >= floor and means[c.label] >= best - se[c.label]]
    assert not simpler


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_baseline_grids_equal_their_pair_scores(name: str) -> None:
    # Baselines rank whole grids by gathers; the tuning compares them on those, so they must agree.
    world = ranking_world()
    model = get_model(name).fit(world, RANKING_AS_OF)
    block = model._block(world, None, "targets")
    rows, inv = np.arange(len(block)), np.arange(len(model.featurizer_.investor_ids_))
    ss, ii = np.repeat(rows, len(inv)), np.tile(inv, len(rows))
    pair = model._score(block, ss, ii, model.featurizer_.transform(block, ss, ii)).reshape(len(rows), len(inv))
    np.testing.assert_array_equal(model._score_grid(block, rows, inv, per_startup=True), pair)


def test_a_validation_period_in_which_nobody_engaged_is_skipped_not_fatal(tmp_path: Path) -> None:
    # Names only and four interactions: the latest validation period before the as-of date holds no
    # positive outcome (only a "met"), which once crashed the text encoder on an empty block.
    from matcher.io import read_data_dir

    (tmp_path / "startups.csv").write_text(
        "startup_id,name\nS1,甲科技有限公司\nS2,乙科技有限公司\nS3,Gamma Robotics Inc\nS4,丁新材料\n", encoding="utf-8")
    (tmp_path / "investors.csv").write_text("investor_id,name\nI1,某创投\nI2,Some Ventures\nI3,丙资本\n",
                                            encoding="utf-8")
    (tmp_path / "interactions.csv").write_text(
        "startup_id,investor_id,occurred_on,outcome\nS1,I1,2024-03-01,invested\nS2,I1,2024-06-01,met\n"
        "S3,I2,2024-09-01,invested\nS4,I3,2025-02-01,invested\n", encoding="utf-8")
    data = read_data_dir(tmp_path)
    model = get_model("learned").fit(data, date(2025, 1, 1))
    recs = model.recommend(data, k=3)
    assert set(recs["startup_id"]) == {"S1", "S2", "S3", "S4"}
    assert model.tuning_report().note
