"""``roadshow recommend`` and ``roadshow evaluate`` behave as DATA_FORMAT.md says (issue 3)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from matcher.io import write_data_dir
from roadshow.cli import app
from tests.factories import ranking_world

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ranking_world")
    write_data_dir(ranking_world(with_ip=False, free_text_sectors=True), out)
    return out


def test_recommend_writes_the_contract_columns_for_the_targets(data_dir: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    pl.DataFrame({"startup_id": ["S_new_robotics", "S_robotics_0"]}).write_csv(targets)
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", "--data", str(data_dir), "--as-of", "2026-01-01", "--k", "5",
                                 "--out", str(out), "--targets", str(targets), "--model", "sector_popularity"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # written for Excel: a UTF-8 BOM
    recs = pl.read_csv(out)
    assert recs.columns == ["startup_id", "investor_id", "rank", "score", "reasons", "investor_name", "investor_kind"]
    assert set(recs["startup_id"]) == {"S_new_robotics", "S_robotics_0"}
    names = dict(ranking_world().investors.select("investor_id", "name").iter_rows())
    assert all(names[i] == n for i, n in recs.select("investor_id", "investor_name").iter_rows())
    assert recs.filter(pl.col("investor_id") == "I_bank")["investor_kind"].to_list() in ([], ["bank"])
    assert recs.filter(pl.col("startup_id") == "S_new_robotics")["investor_id"][0] == "I_robot"
    # S_robotics_0 already dealt with I_robot and I_bank before the date: never recommended again.
    seen = recs.filter((pl.col("startup_id") == "S_robotics_0") & pl.col("investor_id").is_in(["I_robot", "I_bank"]))
    assert seen.is_empty()
    assert recs["reasons"].str.len_chars().min() > 0


def test_recommend_side_startups_swaps_the_roles(data_dir: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    pl.DataFrame({"investor_id": ["I_bio"]}).write_csv(targets)
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", "--data", str(data_dir), "--as-of", "2026-01-01", "--k", "3",
                                 "--out", str(out), "--targets", str(targets), "--side", "startups"])
    assert result.exit_code == 0, result.output
    recs = pl.read_csv(out)
    assert recs.columns == ["investor_id", "startup_id", "rank", "score", "reasons", "startup_name"]
    assert recs["rank"].to_list() == [1, 2, 3]
    names = dict(ranking_world().startups.select("startup_id", "name").iter_rows())
    assert all(names[s] == n for s, n in recs.select("startup_id", "startup_name").iter_rows())


@pytest.mark.parametrize(("kind", "allowed"), [("investor", {"vc", "pe", "angel"}), ("bank", {"bank"}),
                                               ("all", {"vc", "pe", "angel", "bank"})])
def test_recommend_kind_limits_the_recommended_side(data_dir: Path, tmp_path: Path, kind: str,
                                                     allowed: set[str]) -> None:
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", "--data", str(data_dir), "--as-of", "2026-01-01", "--k", "5",
                                 "--out", str(out), "--kind", kind])
    assert result.exit_code == 0, result.output
    recs = pl.read_csv(out)
    assert set(recs["investor_kind"]) <= allowed
    per_startup = recs.group_by("startup_id").len()["len"]
    # 4 investors and 1 bank, less those each startup already dealt with.
    assert per_startup.max() == {"investor": 4, "bank": 1, "all": 5}[kind]
    if kind == "all":
        assert set(recs["investor_kind"]) == allowed
    # The summary counts every target, and says why some got no list.
    startups = pl.read_csv(data_dir / "startups.csv").height
    listed = recs["startup_id"].n_unique()
    assert f"for {listed} of {startups} target(s)" in result.output
    assert ("got none" in result.output) == (listed < startups)


def test_recommend_kind_bank_with_side_startups_makes_the_banks_lists(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", "--data", str(data_dir), "--as-of", "2026-01-01", "--k", "2",
                                 "--out", str(out), "--side", "startups", "--kind", "bank"])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["investor_id"].unique().to_list() == ["I_bank"]
    wrong = runner.invoke(app, ["recommend", "--data", str(data_dir), "--as-of", "2026-01-01", "--k", "2",
                                "--out", str(out), "--kind", "banks"])
    assert wrong.exit_code != 0 and "--kind" in wrong.output


def test_bad_input_is_a_message_not_a_traceback(data_dir: Path, tmp_path: Path) -> None:
    base = ["recommend", "--data", str(data_dir), "--as-of", "2026-01-01", "--out", str(tmp_path / "r.csv")]
    unknown_model = runner.invoke(app, [*base, "--model", "magic"])
    assert unknown_model.exit_code == 1 and "--model: 'magic' is not one of" in unknown_model.output
    bad_date = runner.invoke(app, [*base[:-4], "--as-of", "01/01/2026", "--out", str(tmp_path / "r.csv")])
    assert bad_date.exit_code == 1 and "--as-of" in bad_date.output
    targets = tmp_path / "t.csv"
    pl.DataFrame({"startup_id": ["nobody"]}).write_csv(targets)
    missing = runner.invoke(app, [*base, "--targets", str(targets)])
    assert missing.exit_code == 1 and "nobody" in missing.output


def test_evaluate_prints_a_table_and_writes_json(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["evaluate", "--data", str(data_dir), "--as-of", "2026-01-01", "--k", "3",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "sector_popularity" in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    rows = {(r["model"], r["segment"]): r for r in report["rows"]}
    assert {m for m, _ in rows} == {"learned", "boosted", "random", "popularity", "recent_popularity",
                                    "sector_popularity", "declared"}
    assert rows[("sector_popularity", "cold")]["targets"] == 3
    assert rows[("sector_popularity", "cold")]["ndcg"] == pytest.approx(1.0)
    assert rows[("sector_popularity", "warm")]["targets"] == 0


def test_recommend_tunes_the_default_model_at_its_k(data_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import matcher.ranking

    made: list[object] = []
    real = matcher.ranking.get_model

    def spy(name: str, **params: object) -> object:
        model = real(name, **params)  # type: ignore[arg-type]
        made.append(model)
        return model

    monkeypatch.setattr(matcher.ranking, "get_model", spy)
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", "--data", str(data_dir), "--as-of", "2026-01-01", "--k", "7",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [getattr(m, "k", None) for m in made] == [7]
    assert pl.read_csv(out)["rank"].max() <= 7
