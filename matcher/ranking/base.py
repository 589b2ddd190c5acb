"""The one contract every ranker and baseline implements, and the machinery they share.

A model scores (startup, investor) pairs in [0, 1]. Everything else — choosing targets, scoring them
against every candidate in memory-bounded chunks, excluding pairs already seen before the as-of date,
top-K selection, reasons, saving with skops — lives here once, so the learned ranker and the baselines
behave identically apart from their scores.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar, Literal, Protocol, Self

import numpy as np
import polars as pl
import scipy.sparse as sp
import skops.io as sio
from numpy.typing import NDArray

from matcher.domain import InvestorKind
from matcher.errors import InvalidInputError, NotFittedError
from matcher.features.pairs import FeaturizerCache, FloatArray, IntArray, PairFeaturizer, StartupBlock, lookup
from matcher.io import DataSet
from matcher.ranking.reasons import explain

Side = Literal["investors", "startups"]
Kind = Literal["investor", "bank", "all"]
KINDS: tuple[str, ...] = ("investor", "bank", "all")
# The two groups a list keeps apart: banks lend, everyone else invests.
GROUPS: tuple[str, ...] = ("investor", "bank")
_CALIBRATION_STARTUPS = 300  # startups whose scores make each group's reference distribution
_PAIRS_PER_CHUNK = 1_000_000  # bounds a scoring block at ~1M pairs (a few hundred MB of features at most)
# Types a saved model may contain; anything else in a file is refused rather than executed.
_TRUSTED_PREFIXES = ("matcher.", "sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "datetime.date")
MODEL_FORMAT = 4
"""What a saved ranking model holds. Raised whenever a fitted model's attributes change meaning or a new
one is read on use (2: the self-tuning mixtures, the pair scorer's own bin edges, the products' minimum
grades in bank reasons; 3: parts saved without the featurizer they share with their owner; 4: the text
encoder's vocabulary as one array of terms); a file of another format is refused when loaded instead of
failing on use."""
# Formats this code reads: a format-2 file has a featurizer on every part and a format-3 file the text
# vocabulary as a dict, which load as they always did.
READABLE_FORMATS = (2, 3, 4)

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "startup_id": pl.Utf8(), "investor_id": pl.Utf8(), "rank": pl.Int64(), "score": pl.Float64(),
    "reasons": pl.List(pl.Utf8), "reasons_en": pl.List(pl.Utf8),
}


@dataclass(frozen=True, slots=True)
class StartupPool:
    """Every startup of a data set encoded once against one fitted model (``PairRecommender.prepare``),
    so ranking the startups for one investor after another does not re-encode them each time."""

    block: StartupBlock
    seen: sp.csc_matrix  # block row × investor row: pairs that interacted before the as-of date
    featurizer: PairFeaturizer


class Recommender(Protocol):
    """What the CLI, the API and the scheduler rely on."""

    name: str

    def fit(self, data: DataSet, as_of: date) -> Self: ...

    def recommend(
        self,
        data: DataSet,
        targets: Sequence[str] | None = None,
        *,
        k: int = 10,
        side: Side = "investors",
        kind: Kind = "all",
        exclude_seen: bool = True,
    ) -> pl.DataFrame: ...

    def score_pairs(self, data: DataSet, pairs: pl.DataFrame) -> NDArray[np.float64]: ...

    def save(self, path: Path) -> None: ...

    @classmethod
    def load(cls, path: Path) -> Self: ...


class PairRecommender(ABC):
    """Shared implementation: subclasses provide ``_fit_model`` and ``_score`` (pair scores in [0, 1])."""

    name: ClassVar[str]

    def __init__(self, *, max_text_features: int = 10000) -> None:
        self.max_text_features = max_text_features

    # --- what a subclass provides ------------------------------------------------------------------

    def _fit_model(self, data: DataSet, as_of: date, cache: FeaturizerCache) -> None:  # noqa: B027 - optional hook
        """Learn whatever the model needs beyond the featurizer (nothing, for most baselines); ``cache``
        serves featurizers at other dates (training windows) of the same data."""

    @abstractmethod
    def _score(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray) -> FloatArray:
        """Scores in [0, 1] of the pairs whose ``PAIR_FEATURES`` are ``feats``."""

    def _score_grid(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, per_startup: bool) -> FloatArray:
        """Scores of every (s_rows × inv_rows) pair as a matrix; NaN marks a pair not worth ranking.

        ``per_startup`` says which axis is being ranked (a startup's investors, or an investor's startups),
        which a two-stage model uses to pick candidates per target."""
        ss, ii = np.repeat(s_rows, len(inv_rows)), np.tile(inv_rows, len(s_rows))
        feats = self.featurizer_.transform(block, ss, ii)
        return self._score(block, ss, ii, feats).reshape(len(s_rows), len(inv_rows))

    def _tiebreaker(self) -> PairRecommender | None:
        """A model whose score of a pair orders the items this one scores alike on a list (None: the
        items' own order)."""
        return None

    # --- contract ----------------------------------------------------------------------------------

    def fit(self, data: DataSet, as_of: date, *, cache: FeaturizerCache | None = None) -> Self:
        """Fit on interactions strictly before ``as_of``; ``cache`` shares featurizers between the models a
        tuning run fits on the same data (default: a fresh one)."""
        cache = cache if cache is not None else FeaturizerCache(data, self.max_text_features)
        self.as_of_ = as_of.isoformat()
        self.featurizer_ = cache.at(as_of)
        self._fit_model(data, as_of, cache)
        self._fit_calibration(data)
        return self

    # --- kinds: investors and banks ranked on one scale --------------------------------------------

    def _group_rows(self) -> dict[str, IntArray]:
        """Investor rows of each group (``GROUPS``)."""
        bank = self.featurizer_.investor_kind_label_ == InvestorKind.BANK.value
        return {"investor": np.flatnonzero(~bank), "bank": np.flatnonzero(bank)}

    def _fit_calibration(self, data: DataSet) -> None:
        """Each group's reference distribution of scores, from a spread of startups against its members.

        Banks and investors are scored by one model but their raw scores are not comparable: whichever
        kind has more history scores higher and floods a mixed list. Mapping a score to its percentile
        among the same group's scores puts both on one scale (the top bank for a startup competes with
        its top investor), while the order within a group is the model's own. Startup profiles only: no
        interaction is read here, so the as-of date is respected by construction."""
        self.calibration_: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        ids = data.startups["startup_id"].to_list()
        if not ids:
            return
        picked = np.unique(np.linspace(0, len(ids) - 1, min(len(ids), _CALIBRATION_STARTUPS)).round().astype(int))
        block = self._block(data, [ids[j] for j in picked], "startups")
        rows = np.arange(len(block))
        warm = block.fit_row >= 0
        for group, inv_rows in self._group_rows().items():
            if len(inv_rows) == 0:
                continue
            scores = self._score_grid(block, rows, inv_rows, per_startup=True)
            # Startups with and without history apart too: a model may score them on different scales.
            for key, part in ((group, scores), (f"{group}:warm", scores[warm]), (f"{group}:cold", scores[~warm])):
                finite = part[np.isfinite(part)].astype(np.float64)
                if len(finite) == 0:
                    continue
                values, counts = np.unique(finite, return_counts=True)
                cdf = (np.cumsum(counts) - counts / 2) / counts.sum()  # mid-rank: ties share one percentile
                self.calibration_[key] = (values, cdf)

    def _calibrate(self, raw: NDArray[np.floating], group: str,
                   warm: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        """Raw scores of members of ``group`` as percentiles of that group's reference distribution, taken
        among startups with history where ``warm`` (broadcast against ``raw``) is True and among those
        without where it is False (default: all startups). A group never seen at fit time, e.g. the first
        bank added later, borrows the other's. The raw score breaks ties among pairs beyond the
        reference's range. NaN stays NaN."""
        reference = getattr(self, "calibration_", {})
        scores: NDArray[np.float64] = np.asarray(raw, dtype=np.float64)

        def percentile(key: str) -> NDArray[np.float64] | None:
            ref = reference.get(key) or reference.get(group) or next(iter(reference.values()), None)
            if ref is None:
                return None
            return np.asarray(np.interp(scores, ref[0], ref[1], left=0.0, right=1.0), dtype=np.float64)

        if warm is None:
            p = percentile(group)
        else:
            with_history, without = percentile(f"{group}:warm"), percentile(f"{group}:cold")
            p = None if with_history is None or without is None else np.where(warm, with_history, without)
        if p is None:
            return scores
        calibrated: NDArray[np.float64] = np.clip(0.98 * p + 0.02 * scores, 0.0, 1.0)
        return calibrated

    def _list_scores(self, block: StartupBlock, rows: IntArray, allowed: IntArray,
                     grid: Callable[[IntArray], FloatArray] | None = None) -> NDArray[np.float64]:
        """What a startup's list is ranked by: calibrated scores of the ``allowed`` investors for the block
        ``rows`` (rows × every investor; NaN outside ``allowed`` and for pairs not worth ranking).
        ``grid(investor_rows)`` gives the raw scores (default ``_score_grid``; tuning passes memoised ones)."""
        scores = np.full((len(rows), len(self.featurizer_.investor_ids_)), np.nan, dtype=np.float64)
        for group, members in self._group_rows().items():
            # Each group is scored on its own, so a two-stage model picks candidates within it.
            wanted = np.intersect1d(members, allowed)
            if len(wanted):
                raw = (grid(wanted) if grid is not None
                       else self._score_grid(block, rows, wanted, per_startup=True))
                scores[:, wanted] = self._calibrate(raw, group, (block.fit_row[rows] >= 0)[:, None])
        return scores

    def _kind_rows(self, kind: str) -> IntArray:
        if kind not in KINDS:
            raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}", field="kind")
        groups = self._group_rows()
        return np.sort(np.concatenate(list(groups.values()))) if kind == "all" else groups[kind]

    def with_current(self, data: DataSet) -> Self:
        """This fitted model serving ``data`` as it is now, without refitting the model itself: investors
        and banks created since the fit are ranked at once from what they declare (they have no history
        before the as-of date, so that is all a refit could know of them) and are candidates in every
        startup's list. ``data`` must be the whole data set, investors and interactions included: the
        investor side is re-derived from it as of the same date. Returns ``self`` when nobody is new."""
        self._check_fitted()
        known = set(self.featurizer_.investor_ids_.tolist())
        if set(data.investors["investor_id"].to_list()) <= known:
            return self
        featurizer = copy.copy(self.featurizer_).fit(data, self.as_of)
        return self._rebound(self.featurizer_, featurizer)

    def _rebound(self, old: PairFeaturizer, new: PairFeaturizer) -> Self:
        """A shallow copy serving with ``new`` where it used ``old``; parts that share the featurizer (a
        fallback rule, the self-tuning model's chosen models) must see the same investors, at any depth."""
        current = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, PairRecommender) and getattr(value, "featurizer_", None) is old:
                setattr(current, name, value._rebound(old, new))
        current.featurizer_ = new
        return current

    # --- state: parts share their owner's featurizer ----------------------------------------------

    def __getstate__(self) -> dict[str, object]:
        # skops writes an object's state once per reference, and a composite model's parts (the self-tuning
        # model's segments, their mixtures' components, a fallback rule) all hold the owner's featurizer:
        # the medium world's model wrote it 15 times (a 150 MB schema, 3 minutes of a retrain's save and
        # 24 s to load). A part that shares it is written without it and given the owner's back on load.
        state = dict(vars(self))
        featurizer = state.get("featurizer_")
        if state.get("featurizer_from_owner_"):
            del state["featurizer_"]
        if featurizer is not None:
            for name, value in state.items():
                if isinstance(value, PairRecommender) and getattr(value, "featurizer_", None) is featurizer:
                    part = object.__new__(type(value))
                    vars(part).update(vars(value), featurizer_from_owner_=True)
                    state[name] = part
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        vars(self).update(state)
        # Parts are loaded before their owner; the outermost owner hands its featurizer down, at any depth.
        if "featurizer_" in state:
            self._adopt(self.featurizer_)

    def _adopt(self, featurizer: PairFeaturizer) -> None:
        for value in vars(self).values():
            if isinstance(value, PairRecommender) and vars(value).pop("featurizer_from_owner_", False):
                value.featurizer_ = featurizer
                value._adopt(featurizer)

    @property
    def as_of(self) -> date:
        self._check_fitted()
        return date.fromisoformat(self.as_of_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "featurizer_"):
            raise NotFittedError(f"model {self.name!r} is not fitted; call fit() or load() first")

    def _investor_rows(self, ids: Sequence[str], field: str) -> IntArray:
        rows = lookup(ids, self.featurizer_.investor_index_, -1)
        if (rows < 0).any():
            missing = [ids[j] for j in np.flatnonzero(rows < 0)[:5]]
            raise InvalidInputError(f"unknown investor(s): {', '.join(map(str, missing))}", field=field)
        return rows

    def _block(self, data: DataSet, startup_ids: Sequence[str] | None, field: str) -> StartupBlock:
        startups = data.startups
        if startup_ids is not None:
            wanted = list(dict.fromkeys(startup_ids))
            found = startups.filter(pl.col("startup_id") == wanted[0] if len(wanted) == 1
                                    else pl.col("startup_id").is_in(pl.Series(wanted, dtype=pl.Utf8).implode()))
            found_ids = found["startup_id"].to_list()
            if found.height < len(wanted):
                missing = sorted(set(wanted) - set(found_ids))
                raise InvalidInputError(f"unknown startup(s): {', '.join(missing[:5])}", field=field)
            # Reordering by a join costs a query; a single target (the serving path) is already in order.
            startups = found if found_ids == wanted else pl.DataFrame(
                {"startup_id": wanted}, schema={"startup_id": pl.Utf8}).join(
                found, on="startup_id", how="left", maintain_order="left")
        return self.featurizer_.prepare(startups, data.ip_assets)

    def prepare(self, data: DataSet) -> StartupPool:
        """Every startup of ``data`` encoded for ranking startups per investor (``recommend(pool=...)``)."""
        self._check_fitted()
        block = self._block(data, None, "startups")
        return StartupPool(block=block, seen=self._seen(block).tocsc(), featurizer=self.featurizer_)

    def _seen(self, block: StartupBlock) -> sp.csr_matrix:
        """Block row × investor row matrix of pairs that interacted before the as-of date."""
        f = self.featurizer_
        rows = lookup(block.ids.tolist(), f.history_index_, -1)
        known = np.flatnonzero(rows >= 0)
        picked = f.seen_[rows[known]].tocoo()
        seen = sp.csr_matrix(
            (np.ones(picked.nnz, dtype=np.float32), (known[picked.row], picked.col)),
            shape=(len(block), len(f.investor_ids_)),
        )
        return seen

    def recommend(
        self,
        data: DataSet,
        targets: Sequence[str] | None = None,
        *,
        k: int = 10,
        side: Side = "investors",
        kind: Kind = "all",
        exclude_seen: bool = True,
        on_progress: Callable[[int, int], None] | None = None,
        pool: StartupPool | None = None,
    ) -> pl.DataFrame:
        """Top ``k`` investors per startup (``side="investors"``) or startups per investor, best first.

        ``kind`` limits the investors: ``investor`` (every kind but bank), ``bank`` or ``all``. With
        ``side="investors"`` it limits what is recommended; with ``side="startups"`` it limits whose
        lists are made (every investor of that kind by default; a named target of another kind is an
        error). Scores are per-group percentiles (see ``_fit_calibration``), so a mixed list is ordered
        on one scale and a kind with more history does not crowd out the other.
        ``on_progress(done, total)`` is called after each block of targets (a long batch shows progress).
        ``pool`` (from :meth:`prepare` on the same model) stands in for ``data``'s startups with
        ``side="startups"``: the serving path encodes them once, not on every request.
        """
        self._check_fitted()
        if k < 1:
            raise InvalidInputError("k must be at least 1", field="k")
        if side not in ("investors", "startups"):
            raise InvalidInputError(f"side must be 'investors' or 'startups', not {side!r}", field="side")
        allowed = self._kind_rows(kind)
        groups = self._group_rows()
        f = self.featurizer_
        if side == "investors":
            block = self._block(data, targets, "targets")
            n_targets, n_items = len(block), len(f.investor_ids_)
            target_rows = np.arange(n_targets)
        else:
            if pool is not None and pool.featurizer is not f:
                raise InvalidInputError("the startup pool was prepared for another model", field="pool")
            block = pool.block if pool is not None else self._block(data, None, "targets")
            if targets is None:
                target_rows = allowed
            else:
                target_rows = self._investor_rows(list(targets), "targets")
                wrong = np.setdiff1d(target_rows, allowed)
                if len(wrong):
                    names = ", ".join(f.investor_ids_[wrong[:5]].tolist())
                    raise InvalidInputError(f"not of kind {kind!r}: {names}", field="targets")
            n_targets, n_items = len(target_rows), len(block)
        if side == "investors" and pool is not None:
            raise InvalidInputError("a startup pool serves side='startups' only", field="pool")
        seen: sp.spmatrix | None = None
        if exclude_seen:
            seen = pool.seen if pool is not None else self._seen(block)
        n_allowed = len(allowed) if side == "investors" else n_items
        k_eff = min(k, n_allowed)
        chunk = max(1, _PAIRS_PER_CHUNK // max(n_items, 1))
        picked_s: list[IntArray] = []
        picked_i: list[IntArray] = []
        picked_score: list[FloatArray] = []
        picked_rank: list[IntArray] = []
        for start in range(0, n_targets if k_eff > 0 else 0, chunk):
            rows = target_rows[start : start + chunk]
            if side == "investors":
                scores = self._list_scores(block, rows, allowed)
                mask = seen[rows].toarray() > 0 if seen is not None else None
            else:
                scores = self._score_grid(block, np.arange(n_items), rows, per_startup=False).T.astype(np.float64)
                for group, members in groups.items():
                    in_group = np.isin(rows, members)
                    scores[in_group] = self._calibrate(scores[in_group], group, (block.fit_row >= 0)[None, :])
                mask = seen[:, rows].T.toarray() > 0 if seen is not None else None
            ranked = np.where(np.isnan(scores), -np.inf, scores)
            if mask is not None:
                ranked[mask] = -np.inf
            # A stable sort, then ties broken by a score of the pair alone: a list does not depend on which
            # other items were scored with it (a kind's list is a sub-list of the mixed one).
            top = self._break_ties(block, ranked, np.argsort(-ranked, axis=1, kind="stable")[:, :k_eff], rows,
                                   side)
            top_scores = np.take_along_axis(ranked, top, axis=1)
            valid = np.isfinite(top_scores)
            target_idx = np.repeat(rows[:, None], k_eff, axis=1)
            rank = np.broadcast_to(np.arange(1, k_eff + 1), top.shape)
            if side == "investors":
                s_idx, i_idx = target_idx, top
            else:
                s_idx, i_idx = top, target_idx
            picked_s.append(s_idx[valid])
            picked_i.append(i_idx[valid])
            picked_score.append(top_scores[valid])
            picked_rank.append(rank[valid])
            if on_progress is not None:
                on_progress(min(start + chunk, n_targets), n_targets)
        if not picked_s:
            return pl.DataFrame(schema=RESULT_SCHEMA)
        s_all, i_all = np.concatenate(picked_s), np.concatenate(picked_i)
        feats = f.transform(block, s_all, i_all)
        zh, en = explain(f, block, s_all, i_all, feats, lists=s_all if side == "investors" else i_all)
        return pl.DataFrame(
            {
                "startup_id": block.ids[s_all],
                "investor_id": f.investor_ids_[i_all],
                "rank": np.concatenate(picked_rank).astype(np.int64),
                "score": np.concatenate(picked_score).astype(np.float64),
                "reasons": zh,
                "reasons_en": en,
            },
            schema=RESULT_SCHEMA,
        )

    def _break_ties(self, block: StartupBlock, ranked: NDArray[np.float64], top: IntArray, rows: IntArray,
                    side: Side) -> IntArray:
        """``top`` (each row's best items by ``ranked``, in the items' order where they tie) with the items
        that tie reordered by the tie-breaker's score of the pair; items tied with the last one kept
        compete for its place. A popularity part scores every cold startup of a sector alike for an
        investor, and an organiser reading the list expects the better fit first, not the older record."""
        breaker, k = self._tiebreaker(), top.shape[1]
        if breaker is None or k == 0:
            return top
        top_scores = np.take_along_axis(ranked, top, axis=1)
        last = top_scores[:, -1:]
        inside = ((top_scores[:, 1:] == top_scores[:, :-1]) & np.isfinite(top_scores[:, 1:])).any(axis=1)
        boundary = np.isfinite(last[:, 0]) & ((ranked == last).sum(axis=1) > (top_scores == last).sum(axis=1))
        tied = np.flatnonzero(inside | boundary)
        if len(tied) == 0:
            return top
        part = ranked[tied]
        r, c = np.nonzero((part >= last[tied]) & np.isfinite(part))
        target = rows[tied][r]
        s_rows, inv_rows = (target, c) if side == "investors" else (c, target)
        second = breaker._score(block, s_rows, inv_rows, self.featurizer_.transform(block, s_rows, inv_rows))
        order = np.lexsort((c, -second.astype(np.float64), -part[r, c], r))
        r, c = r[order], c[order]
        position = np.arange(len(r)) - np.searchsorted(r, r)
        keep = position < k
        out = top.copy()
        out[tied[r[keep]], position[keep]] = c[keep]
        return out

    def score_pairs(self, data: DataSet, pairs: pl.DataFrame) -> NDArray[np.float64]:
        """Scores in [0, 1] of the given (startup_id, investor_id) pairs, in their order: the same
        per-group percentiles ``recommend`` ranks by."""
        self._check_fitted()
        for column in ("startup_id", "investor_id"):
            if column not in pairs.columns:
                raise InvalidInputError(f"pairs need a {column!r} column", field=column)
        if pairs.is_empty():
            return np.zeros(0, dtype=np.float64)
        startup_ids = pairs["startup_id"].cast(pl.Utf8).unique(maintain_order=True).to_list()
        block = self._block(data, startup_ids, "startup_id")
        block_index = {v: i for i, v in enumerate(block.ids.tolist())}
        s_rows = lookup(pairs["startup_id"].cast(pl.Utf8).to_list(), block_index, -1)
        i_rows = self._investor_rows(pairs["investor_id"].cast(pl.Utf8).to_list(), "investor_id")
        feats = self.featurizer_.transform(block, s_rows, i_rows)
        raw = np.clip(self._score(block, s_rows, i_rows, feats).astype(np.float64), 0.0, 1.0)
        out = np.empty(len(raw), dtype=np.float64)
        for group, members in self._group_rows().items():
            in_group = np.isin(i_rows, members)
            out[in_group] = self._calibrate(raw[in_group], group, block.fit_row[s_rows[in_group]] >= 0)
        return out

    # --- persistence -------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the fitted model with skops (a format that cannot run code when loaded)."""
        self._check_fitted()
        self.model_format_ = MODEL_FORMAT
        sio.dump(self, Path(path))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a model written by :meth:`save`; refuses files holding types outside the allowlist."""
        untrusted = sio.get_untrusted_types(file=Path(path))
        refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if refused:
            raise InvalidInputError(f"model file holds untrusted types: {', '.join(refused[:5])}", field="path")
        model = sio.load(Path(path), trusted=untrusted)
        if not isinstance(model, cls):
            raise InvalidInputError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}", field="path")
        written = getattr(model, "model_format_", 1)
        if written not in READABLE_FORMATS:
            raise InvalidInputError(
                f"{path} was written by another version of the ranking (model format {written}, this one reads "
                f"{MODEL_FORMAT}): retrain it (`roadshow train`)", field="path")
        return model
