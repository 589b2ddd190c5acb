"""The one behaviour suite every ranker and baseline must pass (issue 3), on a tiny world whose right
answer is known (see ``tests.factories.ranking_world``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from matcher.errors import InvalidInputError, NotFittedError
from matcher.features.pairs import PairFeaturizer
from matcher.io import DataSet, from_frames
from matcher.ranking import MODELS, get_model
from matcher.ranking.base import MODEL_FORMAT, RESULT_SCHEMA, PairRecommender
from matcher.taxonomy import sector_label
from tests.factories import RANKING_AS_OF, ranking_world

NEW = ("S_new_robotics", "S_new_biomedicine", "S_new_new_energy")
SPECIALIST = {"S_new_robotics": "I_robot", "S_new_biomedicine": "I_bio", "S_new_new_energy": "I_energy"}
# What each model must put first for each new startup. Popularity ignores the sector, so it picks the
# busiest investor (I_energy) for everyone; random has no right answer.
EXPECTED_TOP: dict[str, dict[str, str] | None] = {
    "learned": SPECIALIST,
    "boosted": SPECIALIST,
    "recent_popularity": dict.fromkeys(NEW, "I_energy"),
    "sector_popularity": SPECIALIST,
    "declared": SPECIALIST,
    "popularity": dict.fromkeys(NEW, "I_energy"),
    "random": None,
}


@pytest.fixture(scope="module")
def world() -> DataSet:
    return ranking_world()


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request: pytest.FixtureRequest, world: DataSet) -> PairRecommender:
    return get_model(request.param).fit(world, RANKING_AS_OF)


def test_every_model_is_registered_with_an_expectation() -> None:
    assert set(EXPECTED_TOP) == set(MODELS)


def test_output_has_the_contract_columns_and_ranks(fitted: PairRecommender, world: DataSet) -> None:
    recs = fitted.recommend(world, k=3)
    assert recs.schema == pl.Schema(RESULT_SCHEMA)
    assert recs["startup_id"].n_unique() == world.startups.height
    per = recs.group_by("startup_id").agg(pl.col("rank"), pl.col("score"))
    for ranks, scores in per.select("rank", "score").iter_rows():
        assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= 3
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert scores == sorted(scores, reverse=True)


def test_known_right_answer(fitted: PairRecommender, world: DataSet) -> None:
    expected = EXPECTED_TOP[fitted.name]
    recs = fitted.recommend(world, list(NEW), k=5)
    if expected is None:
        assert recs.height == 15
        return
    top = dict(recs.filter(pl.col("rank") == 1).select("startup_id", "investor_id").iter_rows())
    assert top == expected


def test_investors_already_seen_before_the_date_are_excluded(fitted: PairRecommender, world: DataSet) -> None:
    recs = fitted.recommend(world, k=5)
    before = world.interactions.filter(pl.col("occurred_on") < RANKING_AS_OF).select("startup_id", "investor_id")
    assert recs.join(before, on=["startup_id", "investor_id"], how="semi").is_empty()
    # S_robotics_0 dealt with I_robot and I_bank (declined): 3 of 5 investors are left.
    assert recs.filter(pl.col("startup_id") == "S_robotics_0").height == 3
    kept = fitted.recommend(world, ["S_robotics_0"], k=5, exclude_seen=False)
    assert kept.height == 5


def test_targets_limit_and_order_the_output(fitted: PairRecommender, world: DataSet) -> None:
    recs = fitted.recommend(world, ["S_new_biomedicine", "S_new_robotics"], k=2)
    assert recs["startup_id"].unique(maintain_order=True).to_list() == ["S_new_biomedicine", "S_new_robotics"]
    with pytest.raises(InvalidInputError):
        fitted.recommend(world, ["nobody"], k=2)


def test_a_startup_registered_after_fitting_is_ranked(fitted: PairRecommender, world: DataSet) -> None:
    newcomer = from_frames(startups=pl.DataFrame([{
        "startup_id": "S_late", "name": "晚到机器人", "sector": "机器人", "stage": "a", "funding_ask_wan": 800.0,
        "description": "协作机器人 视觉引导"}])).startups
    current = DataSet(startups=pl.concat([world.startups, newcomer]), investors=world.investors,
                      interactions=world.interactions, ip_assets=world.ip_assets)
    recs = fitted.recommend(current, ["S_late"], k=5)
    assert recs.height == 5
    if EXPECTED_TOP[fitted.name] is SPECIALIST:
        assert recs["investor_id"][0] == "I_robot"


def test_side_startups_ranks_startups_per_investor(fitted: PairRecommender, world: DataSet) -> None:
    recs = fitted.recommend(world, ["I_bio"], k=4, side="startups")
    assert recs["investor_id"].unique().to_list() == ["I_bio"]
    assert recs["rank"].to_list() == [1, 2, 3, 4]
    seen = world.interactions.filter((pl.col("occurred_on") < RANKING_AS_OF) & (pl.col("investor_id") == "I_bio"))
    assert not set(recs["startup_id"]) & set(seen["startup_id"])
    if EXPECTED_TOP[fitted.name] is SPECIALIST:
        assert recs["startup_id"][0] == "S_new_biomedicine"


def test_score_pairs_matches_recommend(fitted: PairRecommender, world: DataSet) -> None:
    recs = fitted.recommend(world, list(NEW), k=5)
    scores = fitted.score_pairs(world, recs.select("startup_id", "investor_id"))
    np.testing.assert_allclose(scores, recs["score"].to_numpy(), rtol=1e-6)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_save_and_load_round_trip(fitted: PairRecommender, world: DataSet, tmp_path: Path) -> None:
    path = tmp_path / f"{fitted.name}.skops"
    fitted.save(path)
    loaded = type(fitted).load(path)
    assert loaded.recommend(world, k=3).equals(fitted.recommend(world, k=3))


def test_a_file_of_another_model_format_is_refused_at_load_not_on_use(fitted: PairRecommender,
                                                                       tmp_path: Path) -> None:
    import skops.io as sio

    path = tmp_path / "older.skops"
    fitted.save(path)
    fitted.model_format_ = 1  # as a file an older release wrote
    sio.dump(fitted, path)
    fitted.model_format_ = MODEL_FORMAT
    with pytest.raises(InvalidInputError, match="roadshow train"):
        type(fitted).load(path)


def _parts(model: PairRecommender) -> list[PairRecommender]:
    out = [model]
    for value in vars(model).values():
        if isinstance(value, PairRecommender):
            out += _parts(value)
    return out


def test_a_loaded_model_shares_one_featurizer_across_its_parts_and_writes_it_once(
        fitted: PairRecommender, world: DataSet, tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "model.skops"
    fitted.save(path)
    schema = zipfile.ZipFile(path).read("schema.json").decode()
    assert schema.count('"PairFeaturizer"') == 1
    loaded = type(fitted).load(path)
    parts = _parts(loaded)
    assert all(p.featurizer_ is loaded.featurizer_ for p in parts)
    assert not any(hasattr(p, "featurizer_from_owner_") for p in parts)
    # The fitted model itself is untouched by saving.
    assert all(p.featurizer_ is fitted.featurizer_ for p in _parts(fitted))
    assert not any(hasattr(p, "featurizer_from_owner_") for p in _parts(fitted))


def test_a_file_of_the_previous_format_with_a_featurizer_on_every_part_still_loads(
        fitted: PairRecommender, world: DataSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import skops.io as sio

    path = tmp_path / "format2.skops"
    fitted.model_format_ = 2
    with monkeypatch.context() as patch:
        patch.setattr(PairRecommender, "__getstate__", lambda self: dict(vars(self)))  # as format 2 wrote
        sio.dump(fitted, path)
    fitted.model_format_ = MODEL_FORMAT
    loaded = type(fitted).load(path)
    assert loaded.recommend(world, k=3).equals(fitted.recommend(world, k=3))


def test_the_text_vocabulary_is_written_as_one_array_and_read_back_whole(
        fitted: PairRecommender, world: DataSet, tmp_path: Path) -> None:
    """skops wrote each of the n-gram vocabulary's values as a file of its own (10,000 on the medium world,
    most of a retrain's save): the terms are one array, the vocabulary rebuilt on load."""
    import zipfile

    vocabulary = dict(fitted.featurizer_.text_.vocabulary_)
    path = tmp_path / "model.skops"
    fitted.save(path)
    schema = zipfile.ZipFile(path).read("schema.json").decode()
    assert '"vocabulary_"' not in schema and schema.count('"text_terms_"') == 1
    assert fitted.featurizer_.text_.vocabulary_ == vocabulary  # saving leaves the fitted model as it was
    loaded = type(fitted).load(path)
    assert loaded.featurizer_.text_.vocabulary_ == vocabulary
    docs = ["robotics arm", "生物医药 biomedicine"]
    assert (loaded.featurizer_.text_.transform(docs) != fitted.featurizer_.text_.transform(docs)).nnz == 0


def test_a_file_of_the_previous_format_with_the_vocabulary_as_a_dict_still_loads(
        fitted: PairRecommender, world: DataSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import skops.io as sio

    path = tmp_path / "format3.skops"
    fitted.model_format_ = 3
    with monkeypatch.context() as patch:
        patch.setattr(PairFeaturizer, "__getstate__",
                      lambda self: {k: v for k, v in vars(self).items() if k != "_by_column"})  # as format 3 wrote
        sio.dump(fitted, path)
    fitted.model_format_ = MODEL_FORMAT
    loaded = type(fitted).load(path)
    assert loaded.recommend(world, k=3).equals(fitted.recommend(world, k=3))


def test_recommendations_are_deterministic(fitted: PairRecommender, world: DataSet) -> None:
    again = get_model(fitted.name).fit(world, RANKING_AS_OF)
    assert again.recommend(world, k=3).equals(fitted.recommend(world, k=3))


def test_reasons_are_short_and_true_of_the_pair(fitted: PairRecommender, world: DataSet) -> None:
    recs = fitted.recommend(world, k=5).join(world.startups.select("startup_id", "sector", "stage"), on="startup_id")
    declared = dict(world.investors.select("investor_id", "sectors").iter_rows())
    tickets = {i: (lo, hi) for i, lo, hi in world.investors.select("investor_id", "ticket_min_wan", "ticket_max_wan")
               .iter_rows()}
    asks = dict(world.startups.select("startup_id", "funding_ask_wan").iter_rows())
    history = world.interactions.filter(pl.col("occurred_on") < RANKING_AS_OF)
    for row in recs.iter_rows(named=True):
        assert 1 <= len(row["reasons"]) <= 3 and len(row["reasons_en"]) == len(row["reasons"])
        assert len(set(row["reasons"])) == len(row["reasons"])  # no reason repeated
        own = history.filter(pl.col("investor_id") == row["investor_id"])
        for reason in row["reasons"]:
            if reason.startswith("同赛道: "):
                assert reason.startswith(f"同赛道: {sector_label(_code(row['sector']), 'zh')}")
                sectors_seen = set(own.join(world.startups, on="startup_id")["sector"])
                assert row["sector"] in sectors_seen or _code(row["sector"]) in {
                    _code(s) for s in (declared[row["investor_id"]] or [])}
                if "占其过往项目" in reason:  # a learned share: the investor did engage in the sector
                    assert row["sector"] in sectors_seen
            if reason.startswith("阶段匹配: "):
                assert row["stage"] is not None
            if reason.startswith("投资额匹配: ") and "–" in reason:
                lo, hi = tickets[row["investor_id"]]
                ask = asks[row["startup_id"]]
                assert reason == f"投资额匹配: 需求{ask:.0f}万, 在其{lo:.0f}–{hi:.0f}万之间"
                assert lo <= ask <= hi
            if reason.startswith("同投网络: "):
                # Names someone the startup really dealt with before the date.
                contacts = set(history.filter(pl.col("startup_id") == row["startup_id"])
                               .join(world.investors, on="investor_id")["name"])
                assert any(name in reason for name in contacts)


def _code(label: str) -> str:
    from matcher.taxonomy import sector_code

    return sector_code(label) or label.lower()


def test_unfitted_and_unknown_models_are_refused(world: DataSet) -> None:
    with pytest.raises(NotFittedError):
        get_model("learned").recommend(world)
    with pytest.raises(InvalidInputError):
        get_model("magic")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_works_without_ip_and_with_free_text_sectors(name: str) -> None:
    data = ranking_world(with_ip=False, free_text_sectors=True)
    recs = get_model(name).fit(data, RANKING_AS_OF).recommend(data, list(NEW), k=2)
    assert recs.height == 6
    if EXPECTED_TOP[name] is SPECIALIST and name != "declared":  # declared labels no longer match
        top = dict(recs.filter(pl.col("rank") == 1).select("startup_id", "investor_id").iter_rows())
        assert top == SPECIALIST


def test_convenience_score_pairs_fits_before_the_day_after_the_last_interaction(world: DataSet) -> None:
    from matcher.ranking import score_pairs

    pairs = pl.DataFrame({"startup_id": ["S_new_robotics", "S_new_robotics"], "investor_id": ["I_robot", "I_bio"]})
    scores = score_pairs(world, pairs)
    assert scores.shape == (2,) and ((scores >= 0) & (scores <= 1)).all()
    # The default date sees the robot startup's 2026 investment: no longer a cold pair, still in [0, 1].
    explicit = score_pairs(world, pairs, as_of=RANKING_AS_OF)
    assert explicit[0] > explicit[1]


def test_a_targets_list_does_not_depend_on_the_other_targets(fitted: PairRecommender, world: DataSet) -> None:
    together = fitted.recommend(world, list(NEW), k=4)
    for sid in NEW:
        alone = fitted.recommend(world, [sid], k=4)
        assert alone.equals(together.filter(pl.col("startup_id") == sid))


# --- kind: investors and banks apart (issue 9) ------------------------------------------------------


def _kinds(world: DataSet) -> dict[str, str]:
    return dict(world.investors.select("investor_id", "kind").iter_rows())


def test_kind_selects_investors_or_banks(fitted: PairRecommender, world: DataSet) -> None:
    kinds = _kinds(world)
    investors = fitted.recommend(world, k=10, kind="investor")
    banks = fitted.recommend(world, k=10, kind="bank")
    mixed = fitted.recommend(world, k=10, kind="all")
    assert {kinds[i] for i in investors["investor_id"]} <= {"vc", "pe", "angel"}
    assert set(banks["investor_id"]) == {"I_bank"}
    # All minus what was seen: each list is the union of its two halves, in one order.
    for sid in world.startups["startup_id"].to_list():
        one = mixed.filter(pl.col("startup_id") == sid)
        halves = pl.concat([investors, banks]).filter(pl.col("startup_id") == sid)
        assert set(one["investor_id"]) == set(halves["investor_id"])
        assert one["rank"].to_list() == list(range(1, one.height + 1))
    # Within a kind the mixed list keeps the kind's own order.
    for sid in NEW:
        only = investors.filter(pl.col("startup_id") == sid)["investor_id"].to_list()
        assert [i for i in mixed.filter(pl.col("startup_id") == sid)["investor_id"] if i != "I_bank"] == only


def test_kind_limits_whose_lists_with_side_startups(fitted: PairRecommender, world: DataSet) -> None:
    banks = fitted.recommend(world, k=2, side="startups", kind="bank")
    assert banks["investor_id"].unique().to_list() == ["I_bank"]
    everyone = fitted.recommend(world, k=2, side="startups")
    assert set(everyone["investor_id"]) == set(world.investors["investor_id"])
    with pytest.raises(InvalidInputError, match="I_robot"):
        fitted.recommend(world, ["I_robot"], k=2, side="startups", kind="bank")


def test_unknown_kind_is_refused(fitted: PairRecommender, world: DataSet) -> None:
    with pytest.raises(InvalidInputError) as info:
        fitted.recommend(world, k=2, kind="fund")  # type: ignore[arg-type]
    assert info.value.field == "kind"


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("only", ["vc", "bank"])
def test_a_world_of_one_kind(name: str, only: str) -> None:
    world = ranking_world()
    data = DataSet(startups=world.startups, investors=world.investors.with_columns(kind=pl.lit(only)),
                   interactions=world.interactions, ip_assets=world.ip_assets)
    model = get_model(name).fit(data, RANKING_AS_OF)
    present, absent = ("investor", "bank") if only == "vc" else ("bank", "investor")
    assert model.recommend(data, list(NEW), k=3, kind=absent).is_empty()
    assert model.recommend(data, list(NEW), k=3, kind=present).height == 9
    both = model.recommend(data, list(NEW), k=3)
    assert both.equals(model.recommend(data, list(NEW), k=3, kind=present))


def _with_newcomers(world: DataSet) -> DataSet:
    """The world plus a robot fund and a bank created after the model was fitted (no history)."""
    newcomers = from_frames(investors=pl.DataFrame([
        {"investor_id": "I_late_robot", "name": "后来的机器人基金", "kind": "vc", "sectors": ["智能机器人"],
         "stages": ["a"], "regions": ["湖南"], "ticket_min_wan": 500.0, "ticket_max_wan": 1500.0,
         "description": "协作机器人 视觉引导"},
        {"investor_id": "B_late", "name": "后来的银行", "kind": "bank", "sectors": ["生物医药"]},
    ])).investors
    return DataSet(startups=world.startups, investors=pl.concat([world.investors, newcomers]),
                   interactions=world.interactions, ip_assets=world.ip_assets)


def test_an_investor_created_after_fitting_is_ranked_without_refitting(fitted: PairRecommender,
                                                                        world: DataSet) -> None:
    now = _with_newcomers(world)
    current = fitted.with_current(now)
    assert current is not fitted and fitted.with_current(world) is fitted
    own = current.recommend(now, ["I_late_robot"], k=3, side="startups")
    assert own["rank"].to_list() == [1, 2, 3] and set(own["investor_id"]) == {"I_late_robot"}
    if EXPECTED_TOP[fitted.name] is SPECIALIST:
        # Ranked from what it declares: a robotics startup first.
        assert own["startup_id"][0].startswith(("S_robotics", "S_new_robotics"))
    # A candidate in every startup's lists: the full list holds it, the bank list holds the new bank.
    full = current.recommend(now, list(NEW), k=10)
    assert full.filter(pl.col("investor_id") == "I_late_robot").height == len(NEW)
    banks = current.recommend(now, list(NEW), k=10, kind="bank")
    assert set(banks["investor_id"]) == {"I_bank", "B_late"}
    scores = current.score_pairs(now, full.select("startup_id", "investor_id"))
    np.testing.assert_allclose(scores, full["score"].to_numpy(), rtol=1e-6)
    # The fitted model itself is untouched.
    assert fitted.recommend(world, list(NEW), k=3).equals(fitted.recommend(world, list(NEW), k=3))
    assert "I_late_robot" not in set(fitted.featurizer_.investor_ids_)


def test_a_prepared_startup_pool_ranks_as_the_data_does(fitted: PairRecommender, world: DataSet) -> None:
    pool = fitted.prepare(world)
    for investor in ("I_bio", "I_bank"):
        direct = fitted.recommend(world, [investor], k=4, side="startups")
        assert fitted.recommend(world, [investor], k=4, side="startups", pool=pool).equals(direct)
    with pytest.raises(InvalidInputError):
        fitted.recommend(world, ["S_new_robotics"], k=4, pool=pool)
    other = get_model(fitted.name).fit(world, RANKING_AS_OF)
    with pytest.raises(InvalidInputError):
        other.recommend(world, ["I_bio"], k=4, side="startups", pool=pool)
