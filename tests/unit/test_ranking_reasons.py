"""Reasons suit the kind of institution and name the pair's own facts (issue 9): a bank's speak of its loan
products and past lending, an investor's of sector, stage, ticket, portfolio and co-investors; within one
list no two items carry the same reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import polars as pl
import pytest

from matcher.io import DataSet, from_frames
from matcher.ranking import MODELS, get_model
from matcher.ranking.base import PairRecommender
from matcher.taxonomy import sector_code, sector_label
from tests.factories import RANKING_AS_OF, service_world, synthetic_world

BANK_ONLY = ("贷款产品", "额度覆盖需求", "可知识产权质押", "本行业放贷经验", "服务行业", "科技型中小企业",
             "知识价值信用评价")
INVESTOR_ONLY = ("同投网络", "投资额匹配", "业务相近", "关注领域", "单笔投资")


@pytest.fixture(scope="module")
def world() -> DataSet:
    return service_world()


@pytest.fixture(scope="module", params=sorted(MODELS))
def recs(request: pytest.FixtureRequest, world: DataSet) -> pl.DataFrame:
    model = get_model(request.param).fit(world, RANKING_AS_OF)
    kinds = world.investors.select("investor_id", "kind")
    return model.recommend(world, k=10).join(kinds, on="investor_id")


def _prefix(reason: str) -> str:
    return reason.split(":", 1)[0]


def test_reasons_suit_the_kind(recs: pl.DataFrame) -> None:
    for kind, reasons in recs.select("kind", "reasons").iter_rows():
        prefixes = {_prefix(r) for r in reasons}
        if kind == "bank":
            assert not prefixes & set(INVESTOR_ONLY), reasons
        else:
            assert not prefixes & set(BANK_ONLY), reasons
    assert recs.filter(pl.col("kind") == "bank")["reasons"].list.eval(
        pl.element().str.starts_with("额度覆盖需求")).list.any().any()


def test_bank_reasons_are_true_of_its_products_and_loans(recs: pl.DataFrame, world: DataSet) -> None:
    products = world.loan_products
    startups = {r["startup_id"]: r for r in world.startups.iter_rows(named=True)}
    loans = world.loans.filter(pl.col("issued_on") < RANKING_AS_OF).join(
        world.startups.select("startup_id", "sector"), on="startup_id")
    for sid, bank, reasons in recs.filter(pl.col("kind") == "bank").select(
            "startup_id", "investor_id", "reasons").iter_rows():
        own = products.filter(pl.col("bank_id") == bank)
        startup = startups[sid]
        for reason in reasons:
            if reason.startswith("额度覆盖需求: "):
                fitting = own.filter(pl.col("max_amount_wan") >= startup["funding_ask_wan"])
                assert any(reason == f"额度覆盖需求: {n}最高{m:.0f}万, 需求{startup['funding_ask_wan']:.0f}万"
                           for n, m in fitting.select("name", "max_amount_wan").iter_rows()), reason
            if reason.startswith("本行业放贷经验: "):
                lent = loans.filter((pl.col("bank_id") == bank) & (pl.col("sector") == startup["sector"])).height
                label = sector_label(sector_code(startup["sector"]) or startup["sector"], "zh")
                assert reason == f"本行业放贷经验: 向{label}企业放贷{lent}笔"
            if reason.startswith("贷款产品不限行业: "):
                assert reason.removeprefix("贷款产品不限行业: ") in set(own.filter(
                    pl.col("sectors").list.len().fill_null(0) == 0)["name"])


def test_bank_reasons_quote_the_tech_sme_evaluation_when_the_profile_tells_it(world: DataSet) -> None:
    from matcher.eligibility.kv_index import kv_frame
    from matcher.eligibility.policy import default_policy
    from matcher.eligibility.tech_sme import tech_sme_frame

    policy = default_policy()
    tech = tech_sme_frame(world.startups, world.ip_assets, as_of=RANKING_AS_OF, policy=policy)
    grade = dict(zip(world.startups["startup_id"], kv_frame(world.startups, tech, policy)["grade"], strict=True))
    qualified = dict(zip(tech["startup_id"], tech["tech_sme_qualified"], strict=True))
    model = get_model("sector_popularity").fit(world, RANKING_AS_OF)
    recs = model.recommend(world, k=10, kind="bank").explode("reasons", "reasons_en")
    quoted = recs.filter(pl.col("reasons").str.contains("科技型中小企业|知识价值信用评价"))
    assert quoted.height > 0
    for sid, zh, en in quoted.select("startup_id", "reasons", "reasons_en").iter_rows():
        assert zh.startswith("科技型中小企业: 符合评价条件") == bool(qualified[sid]), zh
        assert (f"知识价值信用评价{grade[sid]}级" in zh) == (grade[sid] is not None), zh
        assert en.startswith("Tech-based SME") == bool(qualified[sid]), en
        assert (f"credit grade {grade[sid]}" in en) == (grade[sid] is not None), en
    # Without head counts the status is unknown: no reason claims it.
    unknown = replace(world, startups=world.startups.with_columns(pl.lit(None, pl.Int64).alias("employees")))
    blind = get_model("sector_popularity").fit(unknown, RANKING_AS_OF).recommend(unknown, k=10, kind="bank")
    assert not blind["reasons"].list.eval(pl.element().str.contains("科技型中小企业|知识价值信用评价")).list.any().any()


def test_no_two_items_of_a_list_say_the_same(recs: pl.DataFrame) -> None:
    repeated = recs.group_by("startup_id", pl.col("reasons").list.sort()).len().filter(pl.col("len") > 1)
    assert repeated.is_empty(), repeated


@pytest.mark.slow
def test_no_two_items_of_a_list_say_the_same_on_a_generated_world() -> None:
    world: Any = synthetic_world()
    for name in ("declared", "learned"):
        model: PairRecommender = get_model(name).fit(world.data, RANKING_AS_OF)
        for side, target in (("investors", "startup_id"), ("startups", "investor_id")):
            recs = model.recommend(world.data, k=10, side=side)  # type: ignore[arg-type]
            repeated = recs.group_by(target, pl.col("reasons").list.sort()).len().filter(pl.col("len") > 1)
            # Only when nothing at all tells two items apart: at most a handful in thousands of lists.
            assert repeated.height <= max(1, recs[target].n_unique() // 100), repeated.head()


def test_the_institution_type_is_said_only_when_the_data_tells_it(world: DataSet) -> None:
    # Investors known by name only (no kind), as in many funding data sets: "type: other" would say nothing,
    # so when they were last active fills the list instead; one with nothing at all still gets its type.
    blank = pl.DataFrame({"investor_id": ["I_blank"], "name": ["无名资本"]})
    investors = pl.concat([world.investors.with_columns(
        pl.when(pl.col("kind") == "bank").then(pl.col("kind")).otherwise(None).alias("kind")), blank],
        how="diagonal_relaxed")
    no_ask = world.startups.with_columns(pl.lit(None, dtype=pl.Float64).alias("funding_ask_wan"))
    nameless = replace(world, investors=investors, startups=no_ask)
    told = get_model("declared").fit(world, RANKING_AS_OF).recommend(world, k=10, kind="investor")
    untold = get_model("declared").fit(nameless, RANKING_AS_OF).recommend(nameless, k=10, kind="investor")
    assert told["reasons"].list.eval(pl.element().str.starts_with("机构类型")).list.any().any()
    known = untold.filter(pl.col("investor_id") != "I_blank")
    assert not known["reasons"].list.eval(pl.element().str.starts_with("机构类型")).list.any().any()
    assert not known["reasons_en"].list.eval(pl.element().str.starts_with("Investor type")).list.any().any()
    last = known.filter(pl.col("investor_id") == "I_robot")["reasons"].explode()
    robot = world.interactions.filter((pl.col("investor_id") == "I_robot") & (pl.col("occurred_on") < RANKING_AS_OF))
    latest = robot["occurred_on"].max()
    assert f"最近互动: {latest.year}年{latest.month}月" in last.to_list()
    assert untold.filter((pl.col("investor_id") == "I_blank") & (pl.col("startup_id") == "S_new_biomedicine")
                         )["reasons"].to_list() == [["机构类型: 其他机构"]]


def test_a_sector_reason_names_the_startups_own_label_beside_the_taxonomys(world: DataSet) -> None:
    # "工业机器人" is matched within the zone's 智能机器人; the reader sees both, not a label it never wrote.
    relabelled = replace(world, startups=world.startups.with_columns(
        pl.when(pl.col("sector") == "智能机器人").then(pl.lit("工业机器人")).otherwise(pl.col("sector"))
        .alias("sector")))
    model = get_model("popularity").fit(relabelled, RANKING_AS_OF)
    recs = model.recommend(relabelled, ["S_new_robotics", "S_new_biomedicine"], k=10)
    robot = recs.filter((pl.col("startup_id") == "S_new_robotics") & (pl.col("investor_id") == "I_robot"))
    assert any(r.startswith("同赛道: 智能机器人·工业机器人（") for r in robot["reasons"].explode())
    assert any(r.startswith("Same sector: Intelligent robots · 工业机器人 (") for r in robot["reasons_en"].explode())
    bio = recs.filter((pl.col("startup_id") == "S_new_biomedicine") & (pl.col("investor_id") == "I_bio"))
    assert any(r.startswith("同赛道: 生物医药（") for r in bio["reasons"].explode())


def test_investors_known_by_name_only_are_told_apart_by_what_they_did() -> None:
    # Same recent deals, same last month, no sector or text to speak of: only IA's older deal tells them apart.
    startups = pl.DataFrame({"startup_id": ["H1", "H2", "H3", "N1"], "name": ["甲", "乙", "丙", "丁"]})
    investors = pl.DataFrame({"investor_id": ["IA", "IB"], "name": ["Alpha Capital", "Beta Ventures"]})
    deals = [("H1", "IA", date(2024, 6, 1)), ("H2", "IA", date(2024, 7, 1)), ("H3", "IA", date(2022, 1, 1)),
             ("H1", "IB", date(2024, 6, 1)), ("H2", "IB", date(2024, 7, 1))]
    interactions = pl.DataFrame(deals, schema=["startup_id", "investor_id", "occurred_on"], orient="row"
                                ).with_columns(pl.lit("invested").alias("outcome"))
    world = from_frames(startups=startups, investors=investors, interactions=interactions)
    recs = get_model("popularity").fit(world, date(2025, 1, 1)).recommend(world, ["N1"], k=2)
    reasons = dict(zip(recs["investor_id"], recs["reasons"].to_list(), strict=True))
    assert reasons["IA"] == ["近一年活跃: 2个项目达成意向", "最近互动: 2024年7月", "累计: 3个项目达成意向"]
    assert reasons["IB"] == ["近一年活跃: 2个项目达成意向", "最近互动: 2024年7月", "累计: 2个项目达成意向"]
