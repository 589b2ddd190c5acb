"""Ranking benchmark (issues 3 and 9): quality on real data against tuned peers, on a generated world
against an oracle, the ablation, the chosen configurations, and speed.

Real-data protocols, all from the Indian startup funding data (``data/real/india_convert.py``), K = 20,
each a temporal split (fit on interactions before the date, score against positive outcomes on or after
it, pairs seen before excluded), cold and warm startups apart:

(a) ``india``: as of 2018-01-01 (the cut-off the model was first developed on);
(b) ``india rolling``: as of 2016-07-01, 2017-01-01 and 2017-07-01;
(c) ``india blanked``: as of 2018-01-01 with sector, sub-sector and description removed for a seeded half
    of the startups;
(d) ``india reshaped``: as of 2018-01-01, reshaped like the markets the product has not seen: investors
    known by name only (no kind), sectors as Chinese labels or free text, no descriptions, amounts only as
    vague orders of magnitude (数百万 / 数千万 / 数亿 → 500 / 5,000 / 50,000 万元) or undisclosed.

Peers, trained on the same split with the same tuning budget — each picks its configuration on the same
validation periods the default model tunes on (by NDCG@20) and is refitted before the date: global
popularity, recent popularity (half-life tuned), sector popularity (fallback weight tuned), a LightFM
hybrid (WARP, startup sector/city/stage features; components × epochs tuned) and implicit ALS (the
``implicit`` package; factors × regularisation tuned; popularity breaks its ties, so cold startups get the
popular list instead of arbitrary order). The peers rank one list over all kinds, as an analyst would;
the product's lists are the default ``kind=all`` ones of ``roadshow recommend``.

The noise is stated twice: a paired bootstrap over each protocol's test startups, and the default model
refitted with its trees' negatives drawn by seeds 1 and 2 beside the reported seed 0 (the peers unchanged).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from matcher.features import FAMILIES
from matcher.features.investor import ENGAGEMENT_WEIGHT
from matcher.features.startup import startup_features
from matcher.io import DataSet, read_data_dir
from matcher.ranking import MODELS, LearnedRecommender, get_model, relevant_pairs
from matcher.ranking.base import PairRecommender
from matcher.ranking.metrics import mean_metrics, per_target_metrics
from matcher.ranking.tuning import validation_cutoffs
from matcher.synthetic import generate, true_utility, write_world

ROOT = Path(__file__).resolve().parent.parent
WORLD_AS_OF = date(2025, 1, 1)
INDIA_AS_OF = date(2018, 1, 1)
ROLLING = (date(2016, 7, 1), date(2017, 1, 1), date(2017, 7, 1))
SEED = 7
K = 20
PEERS = ("global popularity", "recent popularity", "sector popularity", "LightFM", "implicit ALS")
OURS = ("learned", "boosted")
SEGMENTS = ("all", "cold", "warm")
BOOTSTRAP = 2000  # resamples of the test targets for the noise intervals
SEEDS = (0, 1, 2)  # the default model refitted with each (its trees' negatives); the figures are the first's
TARGET_RATIO = 1.10


def _truth_frame(data: DataSet, as_of: date) -> pl.DataFrame:
    return relevant_pairs(data, as_of).select(
        pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "gain", "cold")


def _ranked(recs: pl.DataFrame) -> pl.DataFrame:
    return recs.select(pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "rank")


def _scores(recs: pl.DataFrame, truth: pl.DataFrame, k: int) -> dict[str, dict[str, float]]:
    rec = _ranked(recs)
    out = {}
    for segment in SEGMENTS:
        part = truth if segment == "all" else truth.filter(pl.col("cold") == (segment == "cold"))
        out[segment] = mean_metrics(rec, part, k)
    return out


def _noise(lists: dict[str, pl.DataFrame], truth: pl.DataFrame,
           quality: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """How much the verdict moves with the test targets: a paired bootstrap over them.

    Every resample draws the same targets for every system, so the intervals are of the default model's
    recall ratio to the best-recall peer and of its NDCG lead over the best-NDCG peer, not of each alone.
    """
    per = {name: per_target_metrics(_ranked(recs), truth, K).sort("target") for name, recs in lists.items()}
    recall = {name: frame["recall"].to_numpy() for name, frame in per.items()}
    ndcg = {name: frame["ndcg"].to_numpy() for name, frame in per.items()}
    recall_peer = max(PEERS, key=lambda n: quality[n]["all"]["recall"])
    ndcg_peer = max(PEERS, key=lambda n: quality[n]["all"]["ndcg"])
    draws = np.random.default_rng(SEED).integers(0, len(per["learned"]), size=(BOOTSTRAP, len(per["learned"])))
    ratio = recall["learned"][draws].mean(axis=1) / np.maximum(recall[recall_peer][draws].mean(axis=1), 1e-12)
    lead = ndcg["learned"][draws].mean(axis=1) - ndcg[ndcg_peer][draws].mean(axis=1)
    return {
        "resamples": BOOTSTRAP, "recall_peer": recall_peer, "ndcg_peer": ndcg_peer,
        "ratio": [float(np.quantile(ratio, 0.05)), float(np.quantile(ratio, 0.95))],
        "ratio_met_share": float((ratio >= TARGET_RATIO).mean()),
        "ndcg_lead": [float(np.quantile(lead, 0.05)), float(np.quantile(lead, 0.95))],
        "ndcg_lead_share": float((lead >= 0).mean()),
    }


# --- peers ----------------------------------------------------------------------------------------


@dataclass
class _Split:
    """What a peer may know as of a date: weighted engagements before it, startups' sectors, seen pairs."""

    data: DataSet
    as_of: date
    investor_ids: np.ndarray
    startup_index: dict[str, int]
    engagement: sp.csr_matrix  # all startups × investors, max engagement weight before the date
    recency: sp.csr_matrix  # same pairs, days before the date of the latest engagement
    sector: np.ndarray  # sector token index per startup (-1: none)

    @classmethod
    def of(cls, data: DataSet, as_of: date) -> _Split:
        investor_ids = data.investors["investor_id"].to_numpy().astype(str)
        i_index = {v: j for j, v in enumerate(investor_ids.tolist())}
        s_ids = data.startups["startup_id"].to_list()
        s_index = {v: j for j, v in enumerate(s_ids)}
        history = (
            data.interactions.filter(pl.col("occurred_on") < as_of)
            .with_columns(pl.col("outcome").replace_strict(ENGAGEMENT_WEIGHT, return_dtype=pl.Float64).alias("w"))
            .filter(pl.col("w") > 0)
            .group_by("startup_id", "investor_id")
            .agg(pl.col("w").max(), pl.col("occurred_on").max())
            .filter(pl.col("startup_id").is_in(s_ids) & pl.col("investor_id").is_in(investor_ids.tolist()))
        )
        rows = history["startup_id"].replace_strict(s_index, return_dtype=pl.Int64).to_numpy()
        cols = history["investor_id"].replace_strict(i_index, return_dtype=pl.Int64).to_numpy()
        shape = (len(s_ids), len(investor_ids))
        engagement = sp.csr_matrix((history["w"].to_numpy(), (rows, cols)), shape=shape)
        age = (as_of - history["occurred_on"]).dt.total_days().to_numpy().astype(np.float64)
        recency = sp.csr_matrix((age + 1.0, (rows, cols)), shape=shape)  # +1: day 0 stays a stored entry
        tokens = startup_features(data.startups, data.ip_assets, as_of)["sector_token"]
        vocab = {t: j for j, t in enumerate(tokens.drop_nulls().unique().sort().to_list())}
        sector = np.array([vocab.get(t, -1) if t is not None else -1 for t in tokens.to_list()])
        return cls(data, as_of, investor_ids, s_index, engagement, recency, sector)

    def seen(self, rows: np.ndarray) -> np.ndarray:
        before = self.data.interactions.filter(pl.col("occurred_on") < self.as_of)
        i_index = {v: j for j, v in enumerate(self.investor_ids.tolist())}
        local = {int(r): j for j, r in enumerate(rows)}
        out = np.zeros((len(rows), len(self.investor_ids)), dtype=bool)
        for sid, iid in before.select("startup_id", "investor_id").iter_rows():
            r, c = local.get(self.startup_index.get(sid, -1)), i_index.get(iid)
            if r is not None and c is not None:
                out[r, c] = True
        return out


def _popularity(split: _Split, params: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    pop = np.asarray(split.engagement.sum(axis=0)).ravel()
    return np.broadcast_to(pop, (len(rows), len(pop)))


def _recent(split: _Split, params: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    age = split.recency.copy()
    age.data = split.engagement.data * 0.5 ** ((age.data - 1.0) / params["half_life"])
    pop = np.asarray(age.sum(axis=0)).ravel() + 1e-6 * np.asarray(split.engagement.sum(axis=0)).ravel()
    return np.broadcast_to(pop, (len(rows), len(pop)))


def _sector(split: _Split, params: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    n_sec = int(split.sector.max()) + 1 if len(split.sector) else 0
    known = split.sector >= 0
    onehot = sp.csr_matrix((np.ones(known.sum()), (split.sector[known], np.flatnonzero(known))),
                           shape=(max(n_sec, 1), len(split.sector)))
    by_sector = np.asarray((onehot @ split.engagement).todense())
    pop = np.asarray(split.engagement.sum(axis=0)).ravel()
    pop = pop / max(pop.max(), 1e-9)
    sec = split.sector[rows]
    within = np.where(sec[:, None] >= 0, by_sector[np.maximum(sec, 0)], 0.0)
    top = np.maximum(within.max(axis=1, keepdims=True), 1e-9)
    return (1 - params["fallback"]) * within / top + params["fallback"] * pop[None, :]


def _lightfm(split: _Split, params: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    from lightfm import LightFM

    feats = startup_features(split.data.startups, split.data.ip_assets, split.as_of)
    tokens = feats.select(pl.concat_list(
        pl.format("sector={}", "sector_token"), pl.format("city={}", "city_token"),
        pl.format("stage={}", pl.col("stage_ordinal").cast(pl.Int64))).list.drop_nulls())["sector_token"].to_list()
    vocab = {t: j for j, t in enumerate(sorted({t for ts in tokens for t in ts}))}
    n_s = len(tokens)
    # Identity features plus profile tokens, each row normalised (LightFM's hybrid set-up).
    ident = sp.identity(n_s, format="csr")
    tok_rows = [r for r, ts in enumerate(tokens) for _ in ts]
    tok_cols = [vocab[t] for ts in tokens for t in ts]
    tok = sp.csr_matrix((np.ones(len(tok_rows)), (tok_rows, tok_cols)), shape=(n_s, len(vocab)))
    user_features = sp.hstack([ident, tok]).tocsr()
    norms = np.asarray(user_features.sum(axis=1)).ravel()
    user_features = sp.diags(1.0 / np.maximum(norms, 1.0)) @ user_features
    interactions = split.engagement.tocoo()
    model = LightFM(loss="warp", no_components=params["components"], learning_rate=0.05, random_state=SEED)
    model.fit((interactions > 0).astype(np.float32).tocoo(), user_features=user_features.astype(np.float32),
              sample_weight=interactions.astype(np.float32), epochs=params["epochs"], num_threads=1)
    n_items = len(split.investor_ids)
    users = np.repeat(rows.astype(np.int32), n_items)
    items = np.tile(np.arange(n_items, dtype=np.int32), len(rows))
    scores = model.predict(users, items, user_features=user_features.astype(np.float32), num_threads=1)
    return np.asarray(scores, dtype=np.float64).reshape(len(rows), n_items)


def _als(split: _Split, params: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(factors=params["factors"], regularization=params["regularization"],
                                    alpha=params["alpha"], iterations=15, num_threads=1, random_state=SEED)
    with threadpool_limits(1, "blas"):  # implicit's own advice: BLAS threads fight its solver's
        model.fit(split.engagement.astype(np.float32).tocsr(), show_progress=False)
    scores = np.asarray(model.user_factors[rows] @ model.item_factors.T, dtype=np.float64)
    pop = np.asarray(split.engagement.sum(axis=0)).ravel()
    return scores + 1e-6 * pop / max(pop.max(), 1e-9)


PEER_GRIDS: dict[str, tuple[Callable[[_Split, dict[str, Any], np.ndarray], np.ndarray], list[dict[str, Any]]]] = {
    "global popularity": (_popularity, [{}]),
    "recent popularity": (_recent, [{"half_life": h} for h in (90, 180, 365, 730)]),
    "sector popularity": (_sector, [{"fallback": f} for f in (0.1, 0.3, 0.6)]),
    "LightFM": (_lightfm, [{"components": c, "epochs": e} for c in (16, 32) for e in (10, 30)]),
    "implicit ALS": (_als, [{"factors": f, "regularization": r, "alpha": 1.0}
                            for f in (16, 64) for r in (0.01, 0.1)]),
}


def _peer_lists(split: _Split, peer: str, params: dict[str, Any], targets: list[str], k: int) -> pl.DataFrame:
    rows = np.array([split.startup_index[t] for t in targets], dtype=np.int64)
    scorer, _ = PEER_GRIDS[peer]
    out = []
    for start in range(0, len(rows), 500):
        part = rows[start : start + 500]
        scores = np.where(split.seen(part), -np.inf, np.array(scorer(split, params, part), dtype=np.float64))
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        out.append(pl.DataFrame({
            "startup_id": np.repeat(np.array(targets)[start : start + 500], top.shape[1]),
            "investor_id": split.investor_ids[top.ravel()],
            "rank": np.tile(np.arange(1, top.shape[1] + 1), len(part)).astype(np.int64),
        }))
    return pl.concat(out) if out else pl.DataFrame(schema={"startup_id": pl.Utf8, "investor_id": pl.Utf8,
                                                           "rank": pl.Int64})


def _tuned_peer(data: DataSet, as_of: date, cutoffs: list[date], peer: str, targets: list[str], *,
                k: int) -> tuple[pl.DataFrame, dict[str, Any], float]:
    """The peer's configuration chosen on the validation periods (mean NDCG@k over their startups), refitted."""
    t0 = time.perf_counter()
    _, grid = PEER_GRIDS[peer]
    best, best_ndcg = grid[0], -1.0
    if len(grid) > 1 and cutoffs:
        past = replace(data, interactions=data.interactions.filter(pl.col("occurred_on") < as_of))
        folds, end = [], as_of
        for cutoff in cutoffs:
            fold = replace(past, interactions=past.interactions.filter(pl.col("occurred_on") < end))
            truth = _truth_frame(fold, cutoff)
            folds.append((_Split.of(fold, cutoff), truth, truth["target"].unique().sort().to_list()))
            end = cutoff
        for params in grid:
            per = [per_target_metrics(
                _peer_lists(split, peer, params, val_targets, k).select(
                    pl.col("startup_id").alias("target"), pl.col("investor_id").alias("item"), "rank"), truth, k)
                ["ndcg"] for split, truth, val_targets in folds if val_targets]
            ndcg = float(pl.concat(per).mean() or 0.0) if per else 0.0
            if ndcg > best_ndcg:
                best, best_ndcg = params, ndcg
    recs = _peer_lists(_Split.of(data, as_of), peer, best, targets, k)
    return recs, best, time.perf_counter() - t0


# --- protocols ------------------------------------------------------------------------------------


def _protocol(name: str, data: DataSet, as_of: date, *, ablation: bool = False) -> dict[str, Any]:
    print(f"   ranking: {name}, as of {as_of}", flush=True)
    truth = _truth_frame(data, as_of)
    targets = truth["target"].unique().sort().to_list()
    quality: dict[str, dict[str, dict[str, float]]] = {}
    fit_seconds: dict[str, float] = {}
    configs: dict[str, Any] = {}
    lists: dict[str, pl.DataFrame] = {}
    learned: LearnedRecommender | None = None
    for model_name in OURS:
        t0 = time.perf_counter()
        model = get_model(model_name).fit(data, as_of)
        fit_seconds[model_name] = time.perf_counter() - t0
        lists[model_name] = model.recommend(data, targets, k=K)
        quality[model_name] = _scores(lists[model_name], truth, K)
        if isinstance(model, LearnedRecommender):
            learned = model
            configs["learned"] = {"chosen": model.chosen_, "validation_cutoffs": model.cutoffs_,
                                  "note": model.tuning_note_, "table": model.tuning_table_}
    assert learned is not None
    cutoffs = [date.fromisoformat(c) for c in learned.cutoffs_] or validation_cutoffs(data.interactions, as_of)
    for peer in PEERS:
        lists[peer], configs[peer], fit_seconds[peer] = _tuned_peer(data, as_of, cutoffs, peer, targets, k=K)
        quality[peer] = _scores(lists[peer], truth, K)
    out: dict[str, Any] = {
        "name": name, "as_of": as_of.isoformat(), "targets": len(targets),
        "cold_targets": int(truth.filter(pl.col("cold"))["target"].n_unique()),
        "startups": data.startups.height, "investors": data.investors.height, "pairs": data.interactions.height,
        "quality": quality, "configs": configs, "fit_seconds": fit_seconds,
        "noise": _noise(lists, truth, quality),
        "seeds": [_seeded(quality, SEEDS[0], quality["learned"])],
    }
    for seed in SEEDS[1:]:
        model = get_model("learned", seed=seed).fit(data, as_of)
        out["seeds"].append(_seeded(quality, seed, _scores(model.recommend(data, targets, k=K), truth, K)))
    if ablation:
        out["ablation"] = _ablation(data, as_of, targets, truth)
    return out


def _seeded(quality: dict[str, dict[str, dict[str, float]]], seed: int,
            learned: dict[str, dict[str, float]]) -> dict[str, Any]:
    _, ratio, ndcg_ok = _verdict({**quality, "learned": learned})
    return {"seed": seed, "recall": learned["all"]["recall"], "ndcg": learned["all"]["ndcg"], "ratio": ratio,
            "ndcg_ok": ndcg_ok}


def _ablation(data: DataSet, as_of: date, targets: list[str], truth: pl.DataFrame) -> dict[str, dict[str, float]]:
    """The boosted trees without one feature family at a time (the learned model's main ingredient)."""
    out: dict[str, dict[str, float]] = {}
    for dropped in ("none", *FAMILIES):
        families = tuple(f for f in FAMILIES if f != dropped)
        model = get_model("boosted", families=families).fit(data, as_of)
        out[dropped] = _scores(model.recommend(data, targets, k=K), truth, K)["all"]
    return out


def _india(work: Path) -> DataSet:
    sys.path.insert(0, str(ROOT / "data" / "real"))
    import india_convert

    out = india_convert.main(ROOT / "data" / "real" / "india_startup_funding" / "startup_funding.csv",
                             work / "india")
    return read_data_dir(out)


def _blanked(data: DataSet) -> DataSet:
    rng = np.random.default_rng(SEED)
    blank = rng.random(data.startups.height) < 0.5
    startups = data.startups.with_columns(
        [pl.when(pl.Series(blank)).then(None).otherwise(pl.col(c)).alias(c)
         for c in ("sector", "sub_sector", "description")])
    return replace(data, startups=startups)


# Chinese labels for the commonest Indian verticals, the rest left as free text (lower-cased, reworded).
_ZH_SECTORS = {
    "consumer internet": "消费互联网", "technology": "科技", "ecommerce": "电子商务", "e-commerce": "电子商务",
    "healthcare": "医疗健康", "finance": "金融", "fintech": "金融科技", "logistics": "物流",
    "education": "教育", "ed-tech": "教育科技", "food & beverage": "餐饮", "it": "企业服务",
}


def _vague(amount: pl.Expr) -> pl.Expr:
    # 数百万 / 数千万 / 数亿 as the only figures; below a million or missing: undisclosed.
    return (pl.when(amount >= 10_000).then(pl.lit(50_000.0)).when(amount >= 1_000).then(pl.lit(5_000.0))
            .when(amount >= 100).then(pl.lit(500.0)).otherwise(None))


def _reshaped(data: DataSet) -> DataSet:
    lower = pl.col("sector").str.to_lowercase().str.strip_chars()
    startups = data.startups.with_columns(
        pl.when(lower.is_in(list(_ZH_SECTORS))).then(lower.replace_strict(_ZH_SECTORS, default=None))
        .otherwise(pl.concat_str([lower, pl.lit(" sector")])).alias("sector"),
        pl.lit(None, pl.Utf8).alias("description"),
        _vague(pl.col("funding_ask_wan")).alias("funding_ask_wan"),
    )
    investors = data.investors.with_columns(pl.lit(None, pl.Utf8).alias("kind"))
    interactions = data.interactions.with_columns(_vague(pl.col("amount_wan")).alias("amount_wan"))
    return replace(data, startups=startups, investors=investors, interactions=interactions)


def _real_section(work: Path, quick: bool) -> list[dict[str, Any]]:
    india = _india(work)
    runs = [_protocol("india", india, INDIA_AS_OF, ablation=True)]
    for as_of in ROLLING[-1:] if quick else ROLLING:
        runs.append(_protocol("india rolling", india, as_of))
    runs.append(_protocol("india blanked", _blanked(india), INDIA_AS_OF, ablation=not quick))
    runs.append(_protocol("india reshaped", _reshaped(india), INDIA_AS_OF))
    return runs


# --- generated world and speed --------------------------------------------------------------------


def _oracle(truth_dir: Path, data: DataSet, model: PairRecommender, truth: pl.DataFrame, k: int) -> pl.DataFrame:
    """Each target's top-k investors by true utility, excluding pairs seen before the date."""
    targets = truth["target"].unique().sort().to_list()
    s_ids, i_ids, utility = true_utility(truth_dir, targets, data.investors["investor_id"].to_list())
    block = model.featurizer_.prepare(
        pl.DataFrame({"startup_id": s_ids}).join(data.startups, on="startup_id", how="left"), data.ip_assets)
    seen = model._seen(block).toarray() > 0  # featurizer investor order == investors.csv order
    utility = np.where(seen, -np.inf, utility)
    top = np.argsort(-utility, axis=1)[:, :k]
    return pl.DataFrame({
        "startup_id": np.repeat(np.array(s_ids), k),
        "investor_id": np.array(i_ids)[top.ravel()],
        "rank": np.tile(np.arange(1, k + 1), len(s_ids)),
    })


def _world_section(quick: bool, work: Path) -> dict[str, Any]:
    size = "small" if quick else "medium"
    world_dir = work / f"world_{size}"
    write_world(generate(SEED, size), world_dir)
    data = read_data_dir(world_dir)
    truth = _truth_frame(data, WORLD_AS_OF)
    targets = truth["target"].unique().sort().to_list()
    recs: dict[str, pl.DataFrame] = {}
    fit_seconds: dict[str, float] = {}
    learned: PairRecommender | None = None
    for name in MODELS:
        t0 = time.perf_counter()
        model = get_model(name).fit(data, WORLD_AS_OF)
        fit_seconds[name] = time.perf_counter() - t0
        recs[name] = model.recommend(data, targets, k=10)
        if name == "learned":
            learned = model
    assert learned is not None
    recs["oracle"] = _oracle(world_dir / "truth", data, learned, truth, 10)
    all_lists = learned.recommend(data, data.startups["startup_id"].to_list(), k=10)
    kinds = all_lists.join(data.investors.select("investor_id", "kind"), on="investor_id", how="left")
    return {"size": size, "as_of": WORLD_AS_OF.isoformat(), "targets": len(targets),
            "quality": {name: _scores(r, truth, 10) for name, r in recs.items()}, "fit_seconds": fit_seconds,
            "chosen": learned.chosen_ if isinstance(learned, LearnedRecommender) else {},
            "bank_share_top10": float((kinds["kind"] == "bank").mean() or 0.0),
            "speed": _speed(data, learned, fit_seconds["learned"], size)}


def _sample_section() -> dict[str, Any]:
    """The shipped sample as ``roadshow evaluate --data data/sample --as-of 2025-07-01 --k 10`` scores it,
    and the share of banks in the default (``kind=all``) top 10 of every startup."""
    from matcher.ranking import evaluate

    data = read_data_dir(ROOT / "data" / "sample")
    report = evaluate(data, date(2025, 7, 1), k=10)
    learned = get_model("learned", k=10).fit(data, date(2025, 7, 1))  # tuned at the K evaluate judges it at
    lists = learned.recommend(data, data.startups["startup_id"].to_list(), k=10)
    kinds = lists.join(data.investors.select("investor_id", "kind"), on="investor_id", how="left")
    banks = data.investors.filter(pl.col("kind") == "bank").height / max(data.investors.height, 1)
    return {"rows": report.metrics.to_dicts(), "chosen": learned.chosen_ if isinstance(learned, LearnedRecommender)
            else {}, "bank_share_top10": float((kinds["kind"] == "bank").mean() or 0.0), "bank_share_pool": banks}


def _speed(data: DataSet, model: PairRecommender, fit_seconds: float, size: str) -> dict[str, Any]:
    ids = data.startups["startup_id"].to_list()
    model.recommend(data, ids[:1], k=10)
    times = []
    for sid in ids[1:101]:
        t0 = time.perf_counter()
        model.recommend(data, [sid], k=10)
        times.append(time.perf_counter() - t0)
    return {"size": size, "startups": len(ids), "investors": len(model.featurizer_.investor_ids_),
            "fit_learned_seconds": fit_seconds,
            "one_startup_ms_median": 1000 * float(np.median(times)),
            "one_startup_ms_p95": 1000 * float(np.percentile(times, 95))}


# --- report ---------------------------------------------------------------------------------------


def _verdict(q: dict[str, dict[str, dict[str, float]]], segment: str = "all") -> tuple[str, float, bool]:
    best = max(PEERS, key=lambda n: q[n][segment]["recall"])
    ratio = q["learned"][segment]["recall"] / max(q[best][segment]["recall"], 1e-12)
    ndcg_ok = all(q["learned"][segment]["ndcg"] >= q[n][segment]["ndcg"] for n in PEERS)
    return best, ratio, ndcg_ok


def _real_markdown(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### Real data: India startup funding, K = 20, against peers tuned on the same validation periods",
        "",
        "recall@20 and NDCG@20, all targets and cold / warm apart (cold: no interaction before the date). "
        "`learned` is the default (self-tuning) model, `boosted` its trees alone with default settings. The trees "
        "re-rank each startup's best 300 investors by the cheap linear stage; with 100 (before 2026-12-03) that "
        "stage left out pairs the trees put on top, in a validation period with a short history before it most of "
        "them, so the self-tuning saw weak trees and chose recent popularity alone at the early rolling dates "
        "(`matcher/ranking/learned.py`).",
        "",
        "| protocol | as of | targets (cold) | system | recall all | cold | warm | NDCG all | cold | warm |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        q = run["quality"]
        for j, system in enumerate((*OURS, *PEERS)):
            head = (f"| {run['name']} | {run['as_of']} | {run['targets']} ({run['cold_targets']}) "
                    if j == 0 else "| | | ")
            lines.append(head + f"| {system} | " + " | ".join(f"{q[system][s]['recall']:.4f}" for s in SEGMENTS)
                         + " | " + " | ".join(f"{q[system][s]['ndcg']:.4f}" for s in SEGMENTS) + " |")
    lines += [
        "",
        "| protocol | as of | best peer (recall) | recall ratio (target ≥ 1.10) | 90 % interval (share ≥ 1.10) | "
        "NDCG not below any peer | NDCG lead over the best peer, 90 % interval (share ≥ 0) | "
        "cold: ratio, NDCG ok | warm: ratio, NDCG ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        best, ratio, ok = _verdict(run["quality"])
        cells = []
        for seg in ("cold", "warm"):
            _, r, o = _verdict(run["quality"], seg)
            cells.append(f"{r:.2f}×, {'yes' if o else '**no**'}")
        noise = run.get("noise")
        spread = (f"{noise['ratio'][0]:.2f}–{noise['ratio'][1]:.2f}× ({noise['ratio_met_share']:.0%})",
                  f"{noise['ndcg_lead'][0]:+.4f} to {noise['ndcg_lead'][1]:+.4f} ({noise['ndcg_lead_share']:.0%})"
                  ) if noise else ("—", "—")
        missed = ratio < TARGET_RATIO
        lines.append(f"| {run['name']} | {run['as_of']} | {best} | "
                     f"{'**' if missed else ''}{ratio:.2f}×{'**' if missed else ''} | {spread[0]} | "
                     f"{'yes' if ok else '**no**'} | {spread[1]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"The intervals are the test targets' noise: a paired bootstrap ({BOOTSTRAP:,} resamples of the protocol's "
        "test startups, the same draw for every system) of the default model's recall ratio to the best-recall peer "
        "and of its NDCG@20 lead over the best-NDCG peer, with the share of resamples that meet the target. They do "
        "not include the seed's noise below, which is of the same size.",
        "",
    ]
    lines += _seeds_markdown(runs)
    lines += [
        "",
        "Chosen configurations (default model: per segment; peers: on the same validation periods):",
        "",
        "| protocol | as of | learned: cold | learned: warm | validation from | peers |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        c = run["configs"]
        peers = "; ".join(f"{p}: {', '.join(f'{k}={v}' for k, v in c[p].items())}" for p in PEERS if c[p])
        lines.append(f"| {run['name']} | {run['as_of']} | {c['learned']['chosen']['cold']} | "
                     f"{c['learned']['chosen']['warm']} | {', '.join(c['learned']['validation_cutoffs']) or '—'} | "
                     f"{peers} |")
    lines.append("")
    for run in runs:
        if "ablation" in run:
            lines += [
                f"Ablation ({run['name']}, as of {run['as_of']}): the boosted trees without one feature family, "
                "all targets.",
                "",
                "| dropped family | recall@20 | NDCG@20 |",
                "|---|---|---|",
                *[f"| {n} | {v['recall']:.4f} | {v['ndcg']:.4f} |" for n, v in run["ablation"].items()],
                "",
            ]
    return lines


def _seeds_markdown(runs: list[dict[str, Any]]) -> list[str]:
    seeded = [run for run in runs if "seeds" in run]
    if not seeded:
        return []
    labels = " / ".join(str(s["seed"]) for s in seeded[0]["seeds"])
    lines = [
        f"The figures above are one draw of the trees' negative sampling: seed {seeded[0]['seeds'][0]['seed']}, the "
        f"default. The default model refitted with its trees' negatives drawn by each seed (the peers unchanged):",
        "",
        f"| protocol | as of | recall@20 at seeds {labels} | recall ratio | mean ratio | NDCG not below any peer |",
        "|---|---|---|---|---|---|",
    ]
    means = []
    for run in seeded:
        ratios = [s["ratio"] for s in run["seeds"]]
        means.append(float(np.mean(ratios)))
        recall = " / ".join(f"{s['recall']:.4f}" for s in run["seeds"])
        ok = " / ".join("yes" if s["ndcg_ok"] else "**no**" for s in run["seeds"])
        lines.append(f"| {run['name']} | {run['as_of']} | {recall} | {' / '.join(f'{r:.2f}' for r in ratios)} | "
                     f"{means[-1]:.2f}× | {ok} |")
    met = sum(m >= TARGET_RATIO for m in means)
    above = sum(m > 1.0 for m in means)
    every = sum(all(s["ndcg_ok"] for s in run["seeds"]) for run in seeded)
    lines += [
        "",
        f"On the seeds' mean the 1.10 target holds on {met} protocol(s) of {len(seeded)} and the recall is above the "
        f"best peer's on {above}; NDCG@20 is not below any peer at every seed on {every}. Bagging the trees over "
        "three negative draws did not narrow the spread, nor did any change to what the trees learn from "
        "(`matcher/ranking/learned.py`).",
    ]
    return lines


def _markdown(results: dict[str, Any]) -> str:
    world, sample = results["world"], results["sample"]
    speed = world["speed"]
    q = world["quality"]
    lift = {n: q[n]["all"]["ndcg"] - q["random"]["all"]["ndcg"] for n in q}
    ratio = lift["learned"] / lift["oracle"] if lift["oracle"] > 0 else float("nan")
    rows = {(r["model"], r["segment"]): r for r in sample["rows"]}
    baselines = ("random", "popularity", "recent_popularity", "sector_popularity", "declared")
    sample_ok = {seg: rows[("learned", seg)]["ndcg"] >= max(rows[(b, seg)]["ndcg"] for b in baselines)
                 for seg in ("cold", "warm")}
    lines = [
        "## Ranking (issues 3 and 9)",
        "",
        f"Reproduce: `python -m bench.run --only ranking{' --quick' if results['quick'] else ''}` "
        f"(took {results['seconds']:.0f} s on a shared 2-core host). Raw: `bench/results/ranking.json`.",
        "",
        *_real_markdown(results["real"]),
        "### Shipped sample: `roadshow evaluate --data data/sample --as-of 2025-07-01 --k 10`",
        "",
        "| model | NDCG@10 all | cold | warm | targets (cold / warm) |",
        "|---|---|---|---|---|",
        *[f"| {m} | {rows[(m, 'all')]['ndcg']:.4f} | {rows[(m, 'cold')]['ndcg']:.4f} | "
          f"{rows[(m, 'warm')]['ndcg']:.4f} | {rows[(m, 'cold')]['targets']} / {rows[(m, 'warm')]['targets']} |"
          for m in MODELS],
        "",
        f"Default model's NDCG@10 ≥ the best baseline's: cold {'yes' if sample_ok['cold'] else '**no**'}, "
        f"warm {'yes' if sample_ok['warm'] else '**no**'} (chosen: cold {sample['chosen'].get('cold')}, warm "
        f"{sample['chosen'].get('warm')}). Only {rows[('learned', 'cold')]['targets']} cold startups: one hit "
        "moves the cold figure by several points. Banks hold "
        f"{sample['bank_share_top10']:.0%} of the default (`kind=all`) top-10 slots over every startup "
        f"(they are {sample['bank_share_pool']:.0%} of the institutions).",
        "",
        f"### Generated world ({world['size']}, seed {SEED}), as of {world['as_of']}: NDCG@10, "
        f"{world['targets']} target startups",
        "",
        "| system | all | cold | warm |",
        "|---|---|---|---|",
        *[f"| {n} | " + " | ".join(f"{q[n][s]['ndcg']:.4f}" for s in SEGMENTS) + " |" for n in (*MODELS, "oracle")],
        "",
        f"Model lift over random: {lift['learned']:.4f}; oracle (true utility) lift: {lift['oracle']:.4f}; ratio "
        f"**{ratio:.0%}** (issue 3's target ≥ 90%: {'met' if ratio >= 0.9 else '**not met**'}). Chosen: cold "
        f"{world['chosen'].get('cold')}, warm {world['chosen'].get('warm')}. Banks in the default top 10: "
        f"{world['bank_share_top10']:.0%}. The oracle ranks by the hidden pair utility alone; whether a pair "
        "meets also depends on who attends which roadshow, which history shows, so it is a reference, not a bound.",
        "",
        f"### Speed ({speed['size']} world: {speed['startups']} startups, {speed['investors']} investors and banks)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| fit the default model, tuning included (wall clock on the shared host) | "
        f"{speed['fit_learned_seconds']:.1f} s |",
        f"| rank every investor for one startup (median / p95) | {speed['one_startup_ms_median']:.1f} / "
        f"{speed['one_startup_ms_p95']:.1f} ms |",
        f"| peak resident memory of the benchmark process | {results['peak_rss_mb']:.0f} MB |",
    ]
    return "\n".join(lines)


def main(results_dir: Path, quick: bool) -> str:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_ranking_") as tmp:
        work = Path(tmp)
        real = _real_section(work, quick)
        sample = _sample_section()
        world = _world_section(quick, work)
    results = {"real": real, "sample": sample, "world": world, "quick": quick,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "seconds": time.perf_counter() - started}
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    (Path(results_dir) / "ranking.json").write_text(json.dumps(results, indent=2, ensure_ascii=False),
                                                    encoding="utf-8")
    return _markdown(results)
