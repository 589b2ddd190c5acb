"""A fitted ``HistGradientBoostingClassifier`` flattened into numpy arrays, for scoring a few rows fast.

Why: with categorical features, scikit-learn sends every ``decision_function`` call through a
``ColumnTransformer`` + ``OrdinalEncoder`` and one Python-level call per tree — about 4 ms for one
row, most of the one-firm latency. Here the encoder's fitted vocabulary becomes a ``searchsorted``
lookup and all trees are walked together, one depth level per step, in a handful of numpy operations.

The walk follows scikit-learn's ``_predict_one_from_raw_data`` rule for rule (NaN → the node's
missing side; a negative or unknown category → the missing side; ``x <= threshold`` → left), and
the leaf values are added to the baseline in tree order, so the raw score is bit-identical to
``decision_function`` — ``test_eligibility_pd`` checks that on the loan book, missing and unseen
categories included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier

from matcher.errors import NotFittedError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


# What a categorical node does with a category code (its row of ``CompiledBooster.category_side``).
_RIGHT, _LEFT, _MISSING = 0, 1, 2


@dataclass(frozen=True, slots=True)
class CompiledBooster:
    """The trees of one binary booster as flat node arrays (child indices global across trees)."""

    n_features: int
    order: IntArray  # column j of the booster's input is column order[j] of ours
    categories: tuple[FloatArray, ...]  # per categorical input column: its sorted known values
    baseline: float
    roots: IntArray
    depth: int
    feature: IntArray
    threshold: FloatArray
    missing_left: BoolArray
    is_categorical: BoolArray
    children: IntArray  # (node, went left) → next node; a leaf leads to itself
    value: FloatArray
    category_row: IntArray  # row of ``category_side`` for a categorical node
    category_side: npt.NDArray[np.int8]  # (row, code) → _LEFT, _RIGHT or _MISSING (unknown category)

    @classmethod
    def from_estimator(cls, booster: HistGradientBoostingClassifier) -> CompiledBooster:
        if not hasattr(booster, "_predictors"):
            raise NotFittedError("the booster is not fitted")
        if booster.n_trees_per_iteration_ != 1:
            raise NotFittedError("only a binary booster can be compiled")
        n_features = int(booster.n_features_in_)
        order = np.arange(n_features, dtype=np.intp)
        categories: tuple[FloatArray, ...] = ()
        pre = booster._preprocessor
        if pre is not None:
            # The preprocessor outputs its transformers' columns side by side: the encoded
            # categoricals first, then the numeric columns, each in their original order.
            parts = [(name, np.asarray(cols, dtype=bool)) for name, _, cols in pre.transformers_ if name != "remainder"]
            order = np.concatenate([np.flatnonzero(mask) for _, mask in parts]).astype(np.intp)
            if sorted(order.tolist()) != list(range(n_features)) or [n for n, _ in parts] != ["encoder", "numerical"]:
                raise NotFittedError("unexpected layout of the booster's preprocessor")
            fitted = pre.named_transformers_["encoder"].categories_
            categories = tuple(np.asarray(c, dtype=np.float64)[~np.isnan(c)] for c in fitted)
        known_bits, f_idx_map = booster._bin_mapper.make_known_categories_bitsets()
        trees = [tree for (tree,) in booster._predictors]
        sizes = np.array([len(t.nodes) for t in trees], dtype=np.intp)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        flat = np.concatenate([t.nodes for t in trees])
        shift = np.repeat(offsets, sizes)
        is_leaf = flat["is_leaf"].astype(bool)
        is_categorical = flat["is_categorical"].astype(bool) & ~is_leaf
        own = np.arange(len(flat), dtype=np.intp)
        children = np.stack([
            np.where(is_leaf, own, flat["right"].astype(np.intp) + shift),
            np.where(is_leaf, own, flat["left"].astype(np.intp) + shift),
        ], axis=1)
        # Expand each categorical node's bitsets into a 256-code table (codes fit a byte): in its left
        # set → left; else known to the feature → right; else unknown, which goes the missing way.
        codes = np.arange(256)
        word, bit = codes >> 5, (codes & 31).astype(np.uint32)
        known = np.asarray(known_bits, dtype=np.uint32).reshape(-1, 8)
        f_idx = np.asarray(f_idx_map, dtype=np.intp)
        rows = [np.full(256, _MISSING, dtype=np.int8)]  # row 0: for nodes that are not categorical
        category_row = np.zeros(len(flat), dtype=np.intp)
        for t, tree in enumerate(trees):
            left_bits = np.asarray(tree.raw_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8)
            for k in np.flatnonzero(tree.nodes["is_categorical"] & ~tree.nodes["is_leaf"].astype(bool)):
                node = tree.nodes[k]
                in_left = (left_bits[node["bitset_idx"], word] >> bit) & 1
                in_known = (known[f_idx[node["feature_idx"]], word] >> bit) & 1
                rows.append(np.where(in_left == 1, _LEFT, np.where(in_known == 1, _RIGHT, _MISSING)).astype(np.int8))
                category_row[offsets[t] + k] = len(rows) - 1
        return cls(
            n_features=n_features,
            order=order,
            categories=categories,
            baseline=float(np.asarray(booster._baseline_prediction).ravel()[0]),
            roots=offsets,
            depth=max(int(t.nodes["depth"].max()) for t in trees),
            feature=flat["feature_idx"].astype(np.intp),
            threshold=flat["num_threshold"].astype(np.float64),
            missing_left=flat["missing_go_to_left"].astype(bool),
            is_categorical=is_categorical,
            children=children,
            value=flat["value"].astype(np.float64),
            category_row=category_row,
            category_side=np.stack(rows),
        )

    def _inputs(self, x: FloatArray) -> FloatArray:
        """Our feature matrix as the booster sees it: reordered, categories replaced by their index in
        the encoder's vocabulary (unknown or missing → NaN, as ``OrdinalEncoder`` does)."""
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise NotFittedError(f"expected {self.n_features} features, got shape {x.shape}")
        out = x[:, self.order]
        for j, known in enumerate(self.categories):
            col = out[:, j]
            pos = np.searchsorted(known, col)
            hit = (pos < len(known)) & (known[np.minimum(pos, len(known) - 1)] == col)
            out[:, j] = np.where(hit, pos, np.nan)
        return out

    def decision_function(self, x: FloatArray) -> FloatArray:
        """Raw scores (log-odds) of the rows of ``x``, bit-identical to the booster's own."""
        data = self._inputs(np.asarray(x, dtype=np.float64))
        n = data.shape[0]
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        row = np.arange(n)[:, None]
        for _ in range(self.depth):
            value = data[row, self.feature[node]]
            with np.errstate(invalid="ignore"):
                left = value <= self.threshold[node]  # NaN compares False; fixed just below
            left = np.where(np.isnan(value), self.missing_left[node], left)
            cat = self.is_categorical[node]
            if cat.any():
                v, at = value[cat], node[cat]
                usable = ~np.isnan(v) & (v >= 0)  # NaN or negative: the missing way
                side = self.category_side[self.category_row[at], np.where(usable, v, 0).astype(np.intp)]
                left[cat] = np.where(usable & (side != _MISSING), side == _LEFT, self.missing_left[at])
            node = self.children[node, left.astype(np.intp)]
        # Baseline first, then tree by tree — scikit-learn's order of additions, so the same float.
        leaves = np.concatenate([np.full((n, 1), self.baseline), self.value[node]], axis=1)
        return np.cumsum(leaves, axis=1)[:, -1]
