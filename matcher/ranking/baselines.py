"""The simple rankers every model must beat: random, global popularity, recency-weighted popularity,
popularity within the startup's sector, and a rule score over declared preferences."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import polars as pl
from numpy.typing import NDArray

from matcher.errors import InvalidInputError
from matcher.features.pairs import DECAY_HALF_LIFE_DAYS, HALF_LIVES, PAIR_FEATURES, FloatArray, IntArray, StartupBlock
from matcher.io import DataSet
from matcher.ranking.base import PairRecommender

_COL = {name: j for j, name in enumerate(PAIR_FEATURES)}


def _popularity(model: PairRecommender, inv_rows: IntArray) -> FloatArray:
    """Past positive outcomes (engagements break ties), scaled to [0, 1] over all investors."""
    scalars = model.featurizer_.investor_scalars_
    raw = scalars[:, 0] + 0.01 * scalars[:, 2]  # log(1+positives) + a little log(1+interactions)
    top = float(raw.max()) if len(raw) else 0.0
    return (raw[inv_rows] / top if top > 0 else np.zeros(len(inv_rows))).astype(np.float32)


class RandomRecommender(PairRecommender):
    """Uniform scores from a seeded hash of the pair: reproducible, and the same pair always scores the same."""

    name = "random"

    def __init__(self, *, seed: int = 0, max_text_features: int = 10000) -> None:
        super().__init__(max_text_features=max_text_features)
        self.seed = seed

    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        s_hash = pl.Series(block.ids).hash(seed=self.seed).to_numpy()[s_rows]
        i_hash = pl.Series(self.featurizer_.investor_ids_).hash(seed=self.seed + 1).to_numpy()[inv_rows]
        # splitmix64 finaliser: mixes the two ids' hashes into well-spread bits.
        with np.errstate(over="ignore"):
            z = s_hash ^ (i_hash * np.uint64(0x9E3779B97F4A7C15))
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        return ((z >> np.uint64(11)).astype(np.float64) / float(1 << 53)).astype(np.float32)


class SameListRecommender(PairRecommender):
    """A ranker whose list is the same for every startup (``_scores`` of the investors): its reference
    distribution of scores is that list itself, with no startups to encode."""

    @abstractmethod
    def _scores(self, inv_rows: IntArray) -> FloatArray:
        """The list's scores of the investor rows ``inv_rows``."""

    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        return self._scores(inv_rows)

    def _score_grid(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, per_startup: bool) -> FloatArray:
        return np.broadcast_to(self._scores(inv_rows), (len(s_rows), len(inv_rows))).copy()

    def _fit_calibration(self, data: DataSet) -> None:
        # What the shared calibration computes from a spread of startups' (identical) lists, from one list.
        self.calibration_: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        if data.startups.is_empty():
            return
        for group, inv_rows in self._group_rows().items():
            if len(inv_rows) == 0:
                continue
            values, counts = np.unique(self._scores(inv_rows).astype(np.float64), return_counts=True)
            cdf = (np.cumsum(counts) - counts / 2) / counts.sum()
            for key in (group, f"{group}:warm", f"{group}:cold"):
                self.calibration_[key] = (values, cdf)


class PopularityRecommender(SameListRecommender):
    """Investors with the most positive outcomes before the as-of date, the same list for every startup."""

    name = "popularity"

    def _scores(self, inv_rows: IntArray) -> FloatArray:
        return _popularity(self, inv_rows)


def _recent_popularity(model: PairRecommender, inv_rows: IntArray, half_life: float = DECAY_HALF_LIFE_DAYS,
                       ) -> FloatArray:
    """Recency-weighted engagement (one of ``HALF_LIVES``), scaled to [0, 1] over all investors."""
    decayed = model.featurizer_.decayed_engagements_[:, HALF_LIVES.index(half_life)]
    top = float(decayed.max()) if len(decayed) else 0.0
    return (decayed[inv_rows] / top if top > 0 else np.zeros(len(inv_rows))).astype(np.float32)


class RecentPopularityRecommender(SameListRecommender):
    """Investors most engaged lately: each past engagement counts half as much every ``half_life`` days
    before the date (one of ``HALF_LIVES``; the self-tuning model tries them all). All-time popularity
    breaks ties (an investor quiet for years is still ahead of one never seen)."""

    name = "recent_popularity"

    def __init__(self, *, half_life: float = DECAY_HALF_LIFE_DAYS, max_text_features: int = 10000) -> None:
        super().__init__(max_text_features=max_text_features)
        if float(half_life) not in HALF_LIVES:
            raise InvalidInputError(f"half_life must be one of {', '.join(f'{h:g}' for h in HALF_LIVES)}",
                                    field="half_life")
        self.half_life = float(half_life)

    def _scores(self, inv_rows: IntArray) -> FloatArray:
        return (0.99 * _recent_popularity(self, inv_rows, self.half_life)
                + 0.01 * _popularity(self, inv_rows)).astype(np.float32)


class SectorPopularityRecommender(PairRecommender):
    """Investors most engaged with the startup's sector; global popularity breaks ties and covers new sectors."""

    name = "sector_popularity"

    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        engagement = self.featurizer_.sector_engagement_
        top = self.featurizer_.sector_engagement_top_
        sector = block.sector[s_rows]
        scaled: FloatArray = np.divide(engagement[inv_rows, sector], top[sector],
                                       out=np.zeros(len(s_rows), np.float32), where=top[sector] > 0)
        return (0.9 * scaled + 0.1 * _popularity(self, inv_rows)).astype(np.float32)

    def _score_grid(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, per_startup: bool) -> FloatArray:
        # The same sum as _score, by gathers over the (startup, investor) grid instead of pair features.
        engagement = self.featurizer_.sector_engagement_
        top = self.featurizer_.sector_engagement_top_
        sector = block.sector[s_rows]
        scaled = np.divide(engagement[np.ix_(inv_rows, sector)].T, top[sector][:, None],
                           out=np.zeros((len(s_rows), len(inv_rows)), np.float32), where=top[sector][:, None] > 0)
        grid: FloatArray = (0.9 * scaled + 0.1 * _popularity(self, inv_rows)[None, :]).astype(np.float32)
        return grid


class DeclaredPreferenceRecommender(PairRecommender):
    """The rule an organiser would apply by hand: the share of declared preferences (sector, stage,
    region, ticket) the startup meets; an investor that declares nothing is neutral (0.5).
    Popularity only breaks ties."""

    name = "declared"

    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        fits = feats[:, [_COL[c] for c in ("declared_sector_fit", "declared_stage_fit", "declared_region_fit",
                                            "declared_ticket_fit")]]
        known = ~np.isnan(fits)
        n = known.sum(axis=1)
        rule = np.where(n > 0, np.nansum(fits, axis=1) / np.maximum(n, 1), 0.5)
        return (0.99 * rule + 0.01 * _popularity(self, inv_rows)).astype(np.float32)

    def _score_grid(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, per_startup: bool) -> FloatArray:
        # The same rule by gathers over the grid: ranking every startup for an investor stays cheap.
        f = self.featurizer_
        sec, stage, region, city = (block.sector[s_rows], block.stage[s_rows], block.region[s_rows],
                                    block.city[s_rows])
        stage_idx = np.where(stage >= 0, stage, f.declared_stage_.shape[1] - 1)
        ask = block.ask[s_rows][:, None]
        lo, hi = f.ticket_min_[inv_rows][None, :], f.ticket_max_[inv_rows][None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            log_ask = np.log1p(np.maximum(ask, 0))
            gap = np.maximum(np.maximum(np.log1p(np.nan_to_num(lo, nan=0.0)) - log_ask,
                                        log_ask - np.log1p(np.nan_to_num(hi, nan=np.inf))), 0)
        parts = [
            (f.declared_sector_[np.ix_(inv_rows, sec)].T,
             f.has_declared_sector_[inv_rows][None, :] & block.has_sector[s_rows][:, None]),
            (f.declared_stage_[np.ix_(inv_rows, stage_idx)].T,
             f.has_declared_stage_[inv_rows][None, :] & (stage >= 0)[:, None]),
            (np.maximum(f.declared_region_[np.ix_(inv_rows, region)], f.declared_region_[np.ix_(inv_rows, city)]).T,
             f.has_declared_region_[inv_rows][None, :] & block.has_region[s_rows][:, None]),
            ((gap == 0).astype(np.float32), ~np.isnan(ask) & (~np.isnan(lo) | ~np.isnan(hi))),
        ]
        total = sum(np.where(known, value, 0.0) for value, known in parts)
        n = sum(known.astype(np.int64) for _, known in parts)
        rule = np.where(n > 0, total / np.maximum(n, 1), 0.5)
        return (0.99 * rule + 0.01 * _popularity(self, inv_rows)[None, :]).astype(np.float32)
