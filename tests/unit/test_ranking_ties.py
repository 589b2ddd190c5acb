"""Ties in a list: a popularity part scores every new startup of one sector alike for an investor, so
the default model orders such items by its trees' score of the pair (``PairRecommender._break_ties``)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from matcher.features.pairs import FeaturizerCache
from matcher.io import DataSet, from_frames
from matcher.ranking import get_model
from matcher.ranking.base import PairRecommender
from matcher.ranking.tuning import Ensemble, SegmentedRecommender
from tests.factories import RANKING_AS_OF, ranking_world

# New robotics startups unlike each other in what the trees read: stage, ask, description.
NEWCOMERS = [
    ("S_tie_0", "seed", 80.0, "餐饮连锁 门店管理"),
    ("S_tie_1", "a", 1000.0, "工业机器人 协作机器人 视觉引导 自动化产线"),
    ("S_tie_2", "c", 30000.0, "房地产 中介"),
    ("S_tie_3", "b", 1500.0, "协作机器人 自动化产线"),
    ("S_tie_4", "angel", 50.0, "社区团购"),
    ("S_tie_5", "a", 900.0, "视觉引导 工业机器人"),
]


@pytest.fixture(scope="module")
def world() -> DataSet:
    base = ranking_world()
    template = base.startups.filter(pl.col("startup_id") == "S_new_robotics")
    extra = pl.concat([
        template.with_columns(pl.lit(sid).alias("startup_id"), pl.lit(f"并列{j}").alias("name"),
                              pl.lit(stage).alias("stage"), pl.lit(ask).alias("funding_ask_wan"),
                              pl.lit(desc).alias("description"))
        for j, (sid, stage, ask, desc) in enumerate(NEWCOMERS)
    ])
    return from_frames(startups=pl.concat([base.startups, extra]), investors=base.investors,
                       interactions=base.interactions, ip_assets=base.ip_assets)


@pytest.fixture(scope="module")
def parts(world: DataSet) -> tuple[PairRecommender, PairRecommender]:
    cache = FeaturizerCache(world, 10000)
    return (get_model("sector_popularity").fit(world, RANKING_AS_OF, cache=cache),
            get_model("boosted").fit(world, RANKING_AS_OF, cache=cache))


def _newcomers(recs: pl.DataFrame) -> pl.DataFrame:
    return recs.filter(pl.col("startup_id").is_in([n[0] for n in NEWCOMERS])).sort("rank")


def _trees_order(trees: PairRecommender, world: DataSet, ids: list[str]) -> list[str]:
    pairs = pl.DataFrame({"startup_id": ids, "investor_id": ["I_robot"] * len(ids)})
    scores = trees.score_pairs(world, pairs)
    return [ids[j] for j in np.argsort(-scores, kind="stable")]


def test_sector_popularity_alone_ties_the_newcomers_in_their_own_order(
        parts: tuple[PairRecommender, PairRecommender], world: DataSet) -> None:
    sector, _ = parts
    recs = _newcomers(sector.recommend(world, ["I_robot"], k=40, side="startups"))
    assert recs["score"].n_unique() == 1
    assert recs["startup_id"].to_list() == [n[0] for n in NEWCOMERS]


def test_the_trees_order_the_items_a_popularity_part_ties(
        parts: tuple[PairRecommender, PairRecommender], world: DataSet) -> None:
    sector, trees = parts
    model = SegmentedRecommender(cold=sector, warm=trees)
    recs = _newcomers(model.recommend(world, ["I_robot"], k=40, side="startups"))
    assert recs["score"].n_unique() == 1
    ids = recs["startup_id"].to_list()
    assert ids == _trees_order(trees, world, ids)
    assert ids != [n[0] for n in NEWCOMERS]  # the trees do tell them apart


def test_the_last_place_goes_to_the_trees_best_of_the_items_tied_for_it(
        parts: tuple[PairRecommender, PairRecommender], world: DataSet) -> None:
    sector, trees = parts
    model = SegmentedRecommender(cold=sector, warm=trees)
    full = model.recommend(world, ["I_robot"], k=40, side="startups")
    first_tied = int(_newcomers(full)["rank"].min())
    cut = model.recommend(world, ["I_robot"], k=first_tied + 1, side="startups")
    everyone = _trees_order(trees, world, [n[0] for n in NEWCOMERS])
    assert _newcomers(cut)["startup_id"].to_list() == everyone[:2]
    assert cut["startup_id"].to_list() == full["startup_id"].to_list()[: first_tied + 1]


def test_a_mixture_with_trees_breaks_ties_with_them_and_one_without_keeps_the_order(
        parts: tuple[PairRecommender, PairRecommender]) -> None:
    sector, trees = parts
    assert Ensemble([(sector, 0.5), (trees, 0.5)])._tiebreaker() is trees
    assert Ensemble([(sector, 1.0)])._tiebreaker() is None
    assert SegmentedRecommender(cold=sector, warm=sector)._tiebreaker() is None
