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
from matcher.ranking.learned import BoostedRecommender
from matcher.ranking.tuning import TOP_AVERAGED, Candidate, candidates, choose, validation_cutoffs
from tests.factories import CLUB_AS_OF, RANKING_AS_OF, club_world, ranking_world

SIMPLE = {"popularity", "recent_popularity", "sector_popularity", "declared"}
BASELINE_LABELS = {c.label for c in candidates() if c.model in SIMPLE}


@pytest.fixture(scope="module")
def club() -> DataSet:
    return club_world(n_startups=150)


@pytest.fixture(scope="module")
def club_model(club: DataSet) -> LearnedRecommender:
    model = get_model("learned").fit(club, CLUB_AS_OF)
    assert isinstance(model, LearnedRecommender)
    return model


def test_tiny_history_chooses_a_baseline() -> None:
    # Two validation periods of this world hold 12 startups (three hold 19, enough for the trees to compete).
    result = tune(ranking_world(), RANKING_AS_OF, folds=2)
    assert {c.model for c in result.chosen.values()} <= SIMPLE
    # Too few validation startups for the trees to earn a place: only the baselines were tried.
    assert set(result.table["candidate"]) == BASELINE_LABELS
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
    best_baseline = max(ndcg[name] for name in BASELINE_LABELS if name in ndcg)
    # Clubs are invisible to every baseline; the trees read them off the co-investment graph.
    assert ndcg[report.chosen["warm"].label] > best_baseline + 0.2


def _trees_seed(model: LearnedRecommender) -> int:
    trees = model._tiebreaker()
    assert isinstance(trees, BoostedRecommender)
    return trees.seed


def test_the_seed_draws_the_trees_negatives_too(club: DataSet, club_model: LearnedRecommender) -> None:
    assert _trees_seed(club_model) == 0
    other = LearnedRecommender(seed=3).fit(club, CLUB_AS_OF)
    assert _trees_seed(other) == 3
    assert _trees_seed(other.refit(club, CLUB_AS_OF)) == 3


def test_the_refitted_model_ranks_club_members_first_for_a_warm_startup(club: DataSet,
                                                                        club_model: LearnedRecommender) -> None:
    before = club.interactions.filter(pl.col("occurred_on") < CLUB_AS_OF)
    warm = before.group_by("startup_id").len().filter(pl.col("len") >= 2)["startup_id"].sort()[:10].to_list()
    recs = club_model.recommend(club, warm, k=2)
    club_of = {sid: int(sid[1:]) % 6 for sid in warm}
    share = np.mean([inv.startswith(f"I{club_of[sid]}_") for sid, inv in recs.select("startup_id", "investor_id")
                     .iter_rows()])
    # The choice is a consensus of the best mixtures, some with a little popularity in them: three in four.
    assert share >= 0.75


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
def test_the_choice_is_never_below_the_best_baseline(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = {c.label: rng.random(n) * rng.random() for c in CANDS}
    mixtures: list[Candidate] = []

    def evaluate(c: Candidate) -> np.ndarray:
        mixtures.append(c)
        return rng.random(n) * rng.random()

    chosen, chosen_ndcg, _ = choose(scores, CANDS, evaluate)
    floor = max(float(scores[c.label].mean()) for c in CANDS if c.model in SIMPLE)
    assert float(chosen_ndcg.mean()) >= floor
    assert abs(sum(w for _, w in chosen.parts) - 1) < 1e-9
    if chosen.label in scores:
        np.testing.assert_array_equal(chosen_ndcg, scores[chosen.label])
    # Shrinking toward the best baseline: each mixture tried leans on it at least as much as the last.
    assert len(mixtures) <= 4


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=2, max_value=40), st.integers(min_value=0, max_value=2**31 - 1))
def test_among_baselines_alone_the_choice_is_the_best_or_a_simpler_one_within_noise(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    simple = [c for c in CANDS if c.model in SIMPLE]
    scores = {c.label: rng.random(n) * rng.random() for c in simple}
    chosen, *_ = choose(scores, simple)
    means = {label: float(v.mean()) for label, v in scores.items()}
    assert means[chosen.label] == max(means.values())


def test_the_consensus_is_the_mean_of_the_best_candidates_weights() -> None:
    n = 30
    trees = ("boosted", ())
    scores = {c.label: np.full(n, 0.1) for c in CANDS}
    top = [c for c in CANDS if trees in dict(c.parts)][-TOP_AVERAGED:]
    for j, c in enumerate(top):
        scores[c.label] = np.full(n, 0.5 - 0.001 * j)
    chosen, chosen_ndcg, _ = choose(scores, CANDS, lambda c: np.full(n, 0.45))
    assert dict(chosen.parts)[trees] == pytest.approx(np.mean([dict(c.parts)[trees] for c in top]), abs=1e-3)
    assert chosen_ndcg.mean() == pytest.approx(0.45)


def test_a_mixture_label_names_every_part_with_its_share() -> None:
    from matcher.ranking.tuning import _mixture

    label = _mixture({("sector_popularity", ()): 0.8, ("boosted", ()): 0.196,
                      ("recent_popularity", (("half_life", 90.0),)): 0.004}).label
    assert label == "80% sector popularity + 20% boosted + <1% recent popularity (90 d)"


def test_recent_popularity_is_tuned_over_half_lives_and_refuses_others() -> None:
    from matcher.errors import InvalidInputError
    from matcher.features.pairs import HALF_LIVES

    world = ranking_world()
    lists = {h: get_model("recent_popularity", half_life=h).fit(world, RANKING_AS_OF)._scores(
        np.arange(world.investors.height)) for h in HALF_LIVES}
    assert len({v.tobytes() for v in lists.values()}) > 1
    with pytest.raises(InvalidInputError):
        get_model("recent_popularity", half_life=100)


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
