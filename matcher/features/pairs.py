"""Pair features: how well a startup fits an investor, as of the date the featurizer was fitted on.

``PairFeaturizer.fit`` turns the investor side (declared and learned preferences, portfolio text,
co-investment graph) into dense matrices once; ``prepare`` turns any set of *current* startup profiles
into index arrays; ``transform`` then builds a pair's features by vectorised gathers, so one startup
against 2,000 investors costs a few milliseconds and a startup registered after fitting is still served.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from matcher.domain import STAGE_ORDER, InvestorKind
from matcher.errors import InvalidInputError, NotFittedError
from matcher.features.investor import ENGAGEMENT_WEIGHT, history_before, investor_profiles
from matcher.features.startup import STARTUP_NUMERIC, sector_token, startup_features, text_document
from matcher.io import DataSet

FloatArray = NDArray[np.float32]
IntArray = NDArray[np.int64]
# Portfolio text (terms × investors, dense), description text (terms × investors) and co-investment
# (investors × investors) columns, and whether they were restricted to a few investors (then all dense).
InvestorColumns = tuple[FloatArray, FloatArray | sp.csr_matrix, FloatArray | sp.csr_matrix, bool]

FAMILIES: dict[str, tuple[str, ...]] = {
    "declared": (
        "declared_sector_fit", "declared_stage_fit", "declared_region_fit", "declared_ticket_fit",
        "declared_ticket_gap",
    ),
    "learned": (
        "learned_sector_share", "learned_sub_sector_share", "learned_stage_share", "learned_stage_gap",
        "learned_region_share", "learned_ticket_gap",
    ),
    "text": ("text_sim_portfolio", "text_sim_description"),
    "popularity": (
        "log_n_positive", "log_n_positive_recent", "log_n_interactions", "log_n_interactions_recent",
        "positive_rate", "days_since_last", "log_decayed_engagement",
        "log_sector_engagement", "sector_engagement_relative", "log_stage_engagement", "investor_kind",
    ),
    "cofinance": ("co_investor_score", "startup_history"),
    "startup": STARTUP_NUMERIC,
}
PAIR_FEATURES: tuple[str, ...] = tuple(name for names in FAMILIES.values() for name in names)
# Features ``PairFeaturizer.linear_grid`` computes for a whole startups × investors block at once.
GRID_FEATURES: tuple[str, ...] = (
    "declared_sector_fit", "declared_stage_fit", "declared_region_fit", "learned_sector_share",
    "learned_sub_sector_share", "learned_stage_share", "learned_region_share", "text_sim_portfolio",
    "text_sim_description", "log_n_positive", "log_n_positive_recent", "log_n_interactions",
    "log_n_interactions_recent", "positive_rate", "log_decayed_engagement", "log_sector_engagement",
    "sector_engagement_relative", "log_stage_engagement", "co_investor_score",
)
# Per-investor scalar columns of ``PairFeaturizer.investor_scalars_``, in order.
INVESTOR_SCALARS: tuple[str, ...] = (
    "log_n_positive", "log_n_positive_recent", "log_n_interactions", "log_n_interactions_recent", "positive_rate",
    "days_since_last", "log_decayed_engagement",
)
# Half-life of an engagement in the recency-weighted popularity: funding markets turn over fast (the tuned
# recent-popularity peer picks 180 days on the India data and on the sample), so a year-old deal counts a quarter.
DECAY_HALF_LIFE_DAYS = 180.0
# Half-lives the recency-weighted popularity baseline can be tuned over (one column each in
# ``PairFeaturizer.decayed_engagements_``); ``DECAY_HALF_LIFE_DAYS`` is among them.
HALF_LIVES: tuple[float, ...] = (90.0, 180.0, 365.0, 730.0)
# Startup columns the 科技型中小企业 evaluation reads (banks' reasons quote its result).
_TECH_SME_INPUTS: tuple[str, ...] = (
    "employees", "rd_staff", "revenue_wan", "rd_expense_wan", "total_cost_wan", "total_assets_wan", "credit_flags",
    "high_tech_enterprise", "provincial_rd_center", "national_award_5y", "standards_led_5y", "stage",
)
_KIND_CODE: dict[str, float] = {k.value: float(i) for i, k in enumerate(InvestorKind)}
_N_STAGES = len(STAGE_ORDER)
_DENSE_CHUNK = 512  # startups per dense text/co-investment block: bounds memory at 512 × investors
_DENSE_CELLS = 1_000_000  # (startups × investors) cells per dense block when few investors are involved


@dataclass(frozen=True, slots=True)
class StartupBlock:
    """Current profiles of some startups, encoded against a fitted featurizer's vocabularies."""

    ids: NDArray[np.str_]
    sector: IntArray
    sub_sector: IntArray
    region: IntArray
    city: IntArray
    stage: IntArray  # -1 when unknown
    ask: FloatArray  # funding ask in 万元, NaN when unknown
    numeric: FloatArray  # STARTUP_NUMERIC columns
    text: sp.csr_matrix
    fit_row: IntArray  # row in the fitted history, -1 for a startup with no history
    has_sector: NDArray[np.bool_]
    has_region: NDArray[np.bool_]
    sector_token: list[str | None]
    sub_sector_token: list[str | None]
    region_token: list[str | None]
    city_token: list[str | None]
    sector_label: list[str | None]  # as the startup wrote it
    profiles: pl.DataFrame  # the startup rows the block was prepared from, for what only reasons need
    ip_assets: pl.DataFrame

    def __len__(self) -> int:
        return len(self.ids)


def _vocab(*token_lists: pl.Series) -> dict[str, int]:
    tokens = pl.concat([s.drop_nulls().cast(pl.Utf8) for s in token_lists]).unique().sort()
    return {t: i for i, t in enumerate(tokens.to_list())}


def lookup(keys: Sequence[str | None], index: dict[str, int], default: int) -> IntArray:
    """Positions of ``keys`` in ``index`` (``default`` when absent). Plain dict look-ups: on the serving
    path (one startup) they cost microseconds, where building a polars mapping from a 20,000-entry dict
    costs milliseconds."""
    return np.fromiter((index.get(k, default) if k is not None else default for k in keys), dtype=np.int64,
                       count=len(keys))


def _index(tokens: pl.Series, vocab: dict[str, int]) -> IntArray:
    # Unknown tokens map to the extra all-zero column at index len(vocab).
    return lookup(tokens.to_list(), vocab, len(vocab))


def _dense_step(n_investors: int) -> int:
    """Startups per dense block against ``n_investors``: about 512 × 2,000 cells, more rows for fewer investors."""
    return max(_DENSE_CHUNK, _DENSE_CELLS // max(n_investors, 1))


def _as_dense(product: FloatArray | sp.spmatrix) -> FloatArray:
    """A matrix product's result as a dense float32 array, whether sparse or dense operands made it."""
    dense = product.toarray() if isinstance(product, sp.spmatrix | sp.sparray) else np.asarray(product)
    return np.asarray(dense, dtype=np.float32)


def _dense(rows: IntArray, cols: IntArray, values: NDArray[np.float64], shape: tuple[int, int]) -> FloatArray:
    out = np.zeros(shape, dtype=np.float32)
    np.add.at(out, (rows, cols), values.astype(np.float32))
    return out


@dataclass(frozen=True, slots=True)
class TextModel:
    """The character n-gram encoder of a data set's descriptions and its encodings (startups in
    ``data.startups`` order; investors transposed, terms × investors). Profiles are current, not dated,
    so one text model serves every date a model is fitted at."""

    vectorizer: TfidfVectorizer | None
    startup_text: sp.csr_matrix
    investor_text_t: sp.csr_matrix


def _fit_text_model(startup_docs: pl.Series, investor_docs: pl.Series, max_features: int) -> TextModel:
    docs = pl.concat([startup_docs, investor_docs])
    docs = docs.filter(docs.str.len_chars() > 0)
    if docs.len() == 0:
        return TextModel(None, sp.csr_matrix((len(startup_docs), 1), dtype=np.float32),
                         sp.csr_matrix((1, len(investor_docs)), dtype=np.float32))
    # Character n-grams need no word segmenter, so Chinese and English descriptions both work.
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True,
                                 max_features=max_features, dtype=np.float32)
    vectorizer.fit(docs.to_list())
    return TextModel(vectorizer, sp.csr_matrix(vectorizer.transform(startup_docs.to_list()), dtype=np.float32),
                     sp.csr_matrix(vectorizer.transform(investor_docs.to_list()), dtype=np.float32).T.tocsr())


def _investor_document(summary: pl.DataFrame) -> pl.Series:
    # An investor's declared sectors and its description (its name says nothing about what it funds).
    return summary.select(pl.concat_str([pl.col("sector_labels").list.join(" "), pl.col("description")],
                                        separator=" ", ignore_nulls=True).fill_null(""))["sector_labels"]


def fit_text_model(data: DataSet, max_features: int = 10000) -> TextModel:
    """The text model ``PairFeaturizer.fit`` would build for ``data``, to share between fits at several dates."""
    investors = data.investors.select(pl.col("sectors").alias("sector_labels"), pl.col("description").fill_null(""))
    return _fit_text_model(data.startups.select(text_document())["text"], _investor_document(investors),
                           max_features)


class PairFeaturizer:
    """Investor-side state as of ``as_of`` plus the encoders needed to featurize any startup against it."""

    def __init__(self, max_text_features: int = 10000) -> None:
        self.max_text_features = max_text_features

    # --- fitting ---------------------------------------------------------------------------------

    def fit(self, data: DataSet, as_of: date, text: TextModel | None = None) -> PairFeaturizer:
        """Fit as of ``as_of``; ``text`` (from :func:`fit_text_model` on the same data) skips refitting the
        text encoder, which depends on the profiles only, not on the date."""
        self.as_of_ = as_of
        feats = startup_features(data.startups, data.ip_assets, as_of)
        prof = investor_profiles(data.investors, data.interactions, feats, as_of)
        summary = prof.summary
        self.investor_ids_ = summary["investor_id"].to_numpy().astype(str)
        inv_index = {v: i for i, v in enumerate(self.investor_ids_.tolist())}
        self.investor_index_ = inv_index
        n_inv = len(self.investor_ids_)

        self.sector_vocab_ = _vocab(feats["sector_token"], summary["declared_sectors"].explode())
        self.sub_sector_vocab_ = _vocab(feats["sub_sector_token"])
        self.region_vocab_ = _vocab(feats["region_token"], feats["city_token"], summary["declared_regions"].explode())

        def learned(frame: pl.DataFrame, vocab: dict[str, int], value: str = "share") -> FloatArray:
            rows = frame["investor_id"].replace_strict(inv_index, default=-1, return_dtype=pl.Int64).to_numpy()
            cols = _index(frame["token"], vocab)
            keep = rows >= 0
            return _dense(rows[keep], cols[keep], frame[value].to_numpy()[keep], (n_inv, len(vocab) + 1))

        def declared(column: str, vocab: dict[str, int]) -> tuple[FloatArray, NDArray[np.bool_]]:
            exploded = summary.select(pl.int_range(pl.len()).alias("row"), column).explode(column).drop_nulls()
            cols = _index(exploded[column], vocab)
            mat = _dense(exploded["row"].to_numpy(), cols, np.ones(len(cols)), (n_inv, len(vocab) + 1))
            return np.minimum(mat, 1.0), summary[column].list.len().fill_null(0).to_numpy() > 0

        self.learned_sector_ = learned(prof.sector, self.sector_vocab_)
        self.sector_engagement_ = learned(prof.sector, self.sector_vocab_, value="weight")
        self.sector_engagement_top_ = (self.sector_engagement_.max(axis=0) if n_inv
                                       else np.zeros(len(self.sector_vocab_) + 1, dtype=np.float32))
        self.learned_sub_sector_ = learned(prof.sub_sector, self.sub_sector_vocab_)
        self.learned_region_ = learned(prof.region, self.region_vocab_)
        stage_rows = prof.stage["investor_id"].replace_strict(inv_index, default=-1, return_dtype=pl.Int64)
        self.learned_stage_ = _dense(
            stage_rows.to_numpy(), prof.stage["stage_ordinal"].to_numpy(), prof.stage["share"].to_numpy(),
            (n_inv, _N_STAGES + 1),
        )
        # Stage-aware popularity: how much each investor engaged at each stage (who does seed, who does B).
        self.stage_engagement_ = _dense(
            stage_rows.to_numpy(), prof.stage["stage_ordinal"].to_numpy(), prof.stage["weight"].to_numpy(),
            (n_inv, _N_STAGES + 1),
        )
        self.declared_sector_, self.has_declared_sector_ = declared("declared_sectors", self.sector_vocab_)
        self.declared_region_, self.has_declared_region_ = declared("declared_regions", self.region_vocab_)
        stages = summary.select(pl.int_range(pl.len()).alias("row"), "declared_stages").explode(
            "declared_stages").drop_nulls()
        self.declared_stage_ = np.minimum(
            _dense(stages["row"].to_numpy(), stages["declared_stages"].to_numpy(), np.ones(len(stages)),
                   (n_inv, _N_STAGES + 1)), 1.0)
        self.has_declared_stage_ = summary["declared_stages"].list.len().fill_null(0).to_numpy() > 0

        def col(name: str) -> FloatArray:
            return summary[name].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float32)

        self.ticket_min_ = col("ticket_min_wan")
        self.ticket_max_ = col("ticket_max_wan")
        self.log_median_amount_ = col("log_median_amount")
        self.mean_stage_learned_ = col("mean_stage_learned")
        # Counts become yearly rates: training windows see shorter histories than serving does, and a tree
        # split on a raw count learned on 1 year of history would misfire on 3.
        first = history_before(data.interactions, as_of)["occurred_on"].min()
        self.history_years_ = max((as_of - first).days if isinstance(first, date) else 0, 30) / 365.25
        self.decayed_engagements_ = self._decayed_engagement(data, inv_index)
        self.decayed_engagement_ = self.decayed_engagements_[:, HALF_LIVES.index(DECAY_HALF_LIFE_DAYS)]
        self.investor_scalars_ = np.column_stack([
            np.log1p(col("n_positive") / self.history_years_), np.log1p(col("n_positive_recent")),
            np.log1p(col("n_interactions") / self.history_years_),
            np.log1p(col("n_interactions_recent")), col("positive_rate"), col("days_since_last"),
            np.log1p(self.decayed_engagement_),
        ]).astype(np.float32)
        self.investor_kind_ = summary["kind"].replace_strict(
            _KIND_CODE, default=_KIND_CODE["other"], return_dtype=pl.Float64).to_numpy().astype(np.float32)
        self.investor_kind_label_ = summary["kind"].to_numpy().astype(str)
        self.n_positive_recent_ = col("n_positive_recent")

        self._fit_text(feats, summary, prof.portfolio, inv_index, text)
        self._fit_history(data, inv_index)
        self._fit_lending(data, feats, inv_index)
        return self

    def _fit_lending(self, data: DataSet, feats: pl.DataFrame, inv_index: dict[str, int]) -> None:
        """What reasons name: each institution's name and, for banks, their loan products (which sectors,
        up to what amount) and past lending per sector (loans issued before the as-of date)."""
        names = dict(data.investors.select("investor_id", "name").iter_rows())
        self.investor_names_ = np.array([names.get(i) or i for i in self.investor_ids_.tolist()], dtype=object)
        n_vocab = len(self.sector_vocab_) + 1
        products = data.loan_products.with_columns(
            pl.col("bank_id").replace_strict(inv_index, default=-1, return_dtype=pl.Int64).alias("row"),
        ).filter(pl.col("row") >= 0).sort("row", "product_id")
        self.product_row_ = products["row"].to_numpy().astype(np.int64)
        self.product_name_ = np.array([n or k for n, k in products.select("name", "kind").iter_rows()], dtype=object)
        self.product_kind_ = products["kind"].to_numpy().astype(str)
        self.product_max_wan_ = products["max_amount_wan"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        self.product_min_grade_ = np.array(
            [(g or "").strip().upper() or None for g in products["min_grade"].to_list()]
            if "min_grade" in products.columns else [None] * products.height, dtype=object)
        exploded = products.select(pl.int_range(pl.len()).alias("p"), "sectors").explode("sectors").drop_nulls()
        tokens = exploded.select(pl.col("p"), sector_token(pl.col("sectors")).alias("token")).drop_nulls()
        self.product_sector_ = np.zeros((products.height, n_vocab), dtype=bool)
        cols = _index(tokens["token"], self.sector_vocab_)
        known = cols < n_vocab - 1  # a sector no startup or investor names cannot match anyone
        self.product_sector_[tokens["p"].to_numpy()[known], cols[known]] = True
        self.product_any_sector_ = products["sectors"].list.len().fill_null(0).to_numpy() == 0
        loans = data.loans.filter(pl.col("issued_on") < self.as_of_).join(
            feats.select("startup_id", "sector_token"), on="startup_id", how="inner").with_columns(
            pl.col("bank_id").replace_strict(inv_index, default=-1, return_dtype=pl.Int64).alias("row"),
        ).filter((pl.col("row") >= 0) & pl.col("sector_token").is_not_null())
        self.lending_ = _dense(loans["row"].to_numpy(), _index(loans["sector_token"], self.sector_vocab_),
                               np.ones(loans.height), (len(self.investor_ids_), n_vocab))

    def _decayed_engagement(self, data: DataSet, inv_index: dict[str, int]) -> FloatArray:
        """Recency-weighted popularity, one column per half-life of ``HALF_LIVES``: engagement weights
        halved every half-life before the date, so a market whose active investors change over the years
        ranks today's, not yesterday's."""
        history = history_before(data.interactions, self.as_of_)
        aged = history.select(
            pl.col("investor_id").replace_strict(inv_index, default=-1, return_dtype=pl.Int64).alias("row"),
            pl.col("outcome").replace_strict(ENGAGEMENT_WEIGHT, default=0.0, return_dtype=pl.Float64).alias("w"),
            (pl.lit(self.as_of_) - pl.col("occurred_on")).dt.total_days().cast(pl.Float64).alias("age"),
        ).filter(pl.col("row") >= 0)
        weights = aged["w"].to_numpy()[:, None] * 0.5 ** (aged["age"].to_numpy()[:, None] / np.array(HALF_LIVES))
        out = np.zeros((len(self.investor_ids_), len(HALF_LIVES)), dtype=np.float32)
        np.add.at(out, aged["row"].to_numpy(), weights.astype(np.float32))
        return out

    def _fit_text(self, feats: pl.DataFrame, summary: pl.DataFrame, portfolio: pl.DataFrame,
                  inv_index: dict[str, int], text: TextModel | None) -> None:
        n_inv = len(self.investor_ids_)
        model = text if text is not None else _fit_text_model(feats["text"], _investor_document(summary),
                                                              self.max_text_features)
        self.text_: TfidfVectorizer | None = model.vectorizer
        if model.vectorizer is None:
            self.portfolio_text_t_ = np.zeros((1, n_inv), dtype=np.float32)
            self.description_text_t_ = sp.csr_matrix((1, n_inv), dtype=np.float32)
            return
        s_index = {v: i for i, v in enumerate(feats["startup_id"].to_list())}
        rows = portfolio["investor_id"].replace_strict(inv_index, default=-1, return_dtype=pl.Int64).to_numpy()
        cols = portfolio["startup_id"].replace_strict(s_index, default=-1, return_dtype=pl.Int64).to_numpy()
        keep = (rows >= 0) & (cols >= 0)
        weights = sp.csr_matrix((portfolio["weight"].to_numpy()[keep], (rows[keep], cols[keep])),
                                shape=(n_inv, len(s_index)))
        # Stored transposed (terms × investors). Portfolio centroids are dense in n-gram space, so a dense
        # array makes (sparse startups) @ (centroids) ~5× faster than sparse @ sparse.
        self.portfolio_text_t_ = np.ascontiguousarray(
            normalize(sp.csr_matrix(weights @ model.startup_text, dtype=np.float32)).T.toarray())
        self.description_text_t_ = model.investor_text_t

    def _fit_history(self, data: DataSet, inv_index: dict[str, int]) -> None:
        history = history_before(data.interactions, self.as_of_)
        ids = history["startup_id"].unique().sort()
        self.history_index_ = {v: i for i, v in enumerate(ids.to_list())}
        n_inv = len(self.investor_ids_)
        pairs = history.select(
            pl.col("startup_id").replace_strict(self.history_index_, return_dtype=pl.Int64).alias("r"),
            pl.col("investor_id").replace_strict(inv_index, default=-1, return_dtype=pl.Int64).alias("c"),
        ).unique().filter(pl.col("c") >= 0)
        # Every pair that interacted before the date, whatever the outcome: excluded from recommendations.
        self.seen_ = sp.csr_matrix(
            (np.ones(len(pairs), dtype=np.float32), (pairs["r"].to_numpy(), pairs["c"].to_numpy())),
            shape=(len(ids), n_inv),
        )
        self.history_count_ = np.log1p(
            history.group_by("startup_id").len().sort("startup_id")["len"].to_numpy().astype(np.float32)
        ) if len(ids) else np.zeros(0, dtype=np.float32)
        weighted = history.with_columns(
            pl.col("outcome").replace_strict(ENGAGEMENT_WEIGHT, return_dtype=pl.Float64).alias("w"),
            pl.col("startup_id").replace_strict(self.history_index_, return_dtype=pl.Int64).alias("r"),
            pl.col("investor_id").replace_strict(inv_index, default=-1, return_dtype=pl.Int64).alias("c"),
        ).filter((pl.col("w") > 0) & (pl.col("c") >= 0)).group_by("r", "c").agg(pl.col("w").max())
        engagement = sp.csr_matrix(
            (weighted["w"].to_numpy().astype(np.float32), (weighted["r"].to_numpy(), weighted["c"].to_numpy())),
            shape=(len(ids), n_inv),
        )
        self.engagement_ = engagement
        # Item-item cosine over startups engaged: investors who keep turning up at the same startups.
        if engagement.nnz == 0:
            self.co_investor_ = sp.csr_matrix((n_inv, n_inv), dtype=np.float32)
            return
        by_investor = normalize(engagement.T.tocsr())
        co = sp.csr_matrix(by_investor @ by_investor.T, dtype=np.float32)
        co.setdiag(0)
        co.eliminate_zeros()
        self.co_investor_ = co

    # --- encoding startups -----------------------------------------------------------------------

    def _check(self) -> None:
        if not hasattr(self, "investor_ids_"):
            raise NotFittedError("the pair featurizer is not fitted")

    def prepare(self, startups: pl.DataFrame, ip_assets: pl.DataFrame) -> StartupBlock:
        """Encode current startup profiles (possibly registered after fitting) against the vocabularies."""
        self._check()
        feats = startup_features(startups, ip_assets, self.as_of_)
        desc = feats["text"].to_list()
        if self.text_ is None:
            text = sp.csr_matrix((len(desc), 1), dtype=np.float32)
        else:
            # scikit-learn's transformers refuse zero rows; an empty block (no targets) keeps the width.
            text = sp.csr_matrix(self.text_.transform(desc or [""]))[: len(desc)]
        # Plain conversions (Float64 nulls come out as NaN) rather than one polars query per column: on the
        # serving path each query costs more than the whole encoding of one startup.
        numeric = feats.select(STARTUP_NUMERIC).to_numpy().astype(np.float64, copy=False)
        stage_ordinal = numeric[:, STARTUP_NUMERIC.index("stage_ordinal")]
        tokens = {name: feats[name].to_list()
                  for name in ("sector_token", "sub_sector_token", "region_token", "city_token")}
        return StartupBlock(
            ids=feats["startup_id"].to_numpy().astype(str),
            sector=lookup(tokens["sector_token"], self.sector_vocab_, len(self.sector_vocab_)),
            sub_sector=lookup(tokens["sub_sector_token"], self.sub_sector_vocab_, len(self.sub_sector_vocab_)),
            region=lookup(tokens["region_token"], self.region_vocab_, len(self.region_vocab_)),
            city=lookup(tokens["city_token"], self.region_vocab_, len(self.region_vocab_)),
            stage=np.where(np.isnan(stage_ordinal), -1, stage_ordinal).astype(np.int64),
            ask=feats["funding_ask_wan"].cast(pl.Float64).to_numpy().astype(np.float32),
            numeric=numeric.astype(np.float32),
            text=text,
            fit_row=lookup(feats["startup_id"].to_list(), self.history_index_, -1),
            has_sector=np.array([t is not None for t in tokens["sector_token"]], dtype=bool),
            has_region=np.array([t is not None for t in tokens["region_token"]], dtype=bool),
            sector_token=tokens["sector_token"],
            sub_sector_token=tokens["sub_sector_token"],
            region_token=tokens["region_token"],
            city_token=tokens["city_token"],
            sector_label=feats["sector_label"].to_list(),
            profiles=startups,
            ip_assets=ip_assets,
        )

    def tech_sme(self, block: StartupBlock, rows: IntArray) -> tuple[NDArray[np.int8], list[str | None]]:
        """The 科技型中小企业 status (1 qualifies, 0 does not, -1 unknown) and knowledge-value credit grade
        (A best; None when unknown or ungraded) of the block ``rows``, as the eligibility policy evaluates
        them: known only where the profile gives the head count and the revenue or the costs. Worked out
        on demand (banks' reasons), for those startups only."""
        n = len(rows)
        status, grades = np.full(n, -1, dtype=np.int8), [None] * n
        profiles = block.profiles
        if n == 0 or not set(_TECH_SME_INPUTS) <= set(profiles.columns):
            return status, list(grades)
        from matcher.eligibility.kv_index import kv_frame
        from matcher.eligibility.policy import default_policy
        from matcher.eligibility.tech_sme import tech_sme_frame

        wanted = list(dict.fromkeys(block.ids[rows].tolist()))
        firms = profiles.filter(pl.col("startup_id").is_in(pl.Series(wanted, dtype=pl.Utf8).implode()))
        known = firms.select(pl.col("employees").is_not_null()
                             & (pl.col("revenue_wan").is_not_null() | pl.col("total_cost_wan").is_not_null())
                             ).to_series().to_numpy()
        firms = firms.filter(pl.Series(known))
        if firms.is_empty():
            return status, list(grades)
        policy = default_policy()
        ip = block.ip_assets.filter(pl.col("startup_id").is_in(firms["startup_id"].implode()))
        tech = tech_sme_frame(firms, ip, as_of=self.as_of_, policy=policy)
        found = {sid: (int(q), g) for sid, q, g in zip(
            firms["startup_id"].to_list(), tech["tech_sme_qualified"].to_list(),
            kv_frame(firms, tech, policy)["grade"].to_list(), strict=True)}
        out_grades: list[str | None] = []
        for j, sid in enumerate(block.ids[rows].tolist()):
            q, g = found.get(sid, (-1, None))
            status[j] = q
            out_grades.append(g)
        return status, out_grades

    # --- pair features ---------------------------------------------------------------------------

    def _investor_columns(self, inv: IntArray | None) -> InvestorColumns:
        """The investor-indexed text and co-investment matrices restricted to ``inv`` when that is a few
        investors (slicing is cheap then; copying most of them costs more than it saves), and whether
        they were restricted. Restricted columns are dense: (sparse startups) @ (a few dense columns) is
        a sparse-matrix × vector product, where sparse @ sparse first counts and then builds a result
        (one investor's list over 20,000 startups: 2 ms against 12 ms)."""
        few = inv is not None and len(inv) <= len(self.investor_ids_) // 4
        if not few:
            return self.portfolio_text_t_, self.description_text_t_, self.co_investor_, False
        description_c, co_c, _ = self._derived()
        return (self.portfolio_text_t_[:, inv], description_c[:, inv].toarray(), co_c[:, inv].toarray(), True)

    def _derived(self) -> tuple[sp.csc_matrix, sp.csc_matrix, sp.csr_matrix]:
        """Made once from the fitted state, never saved: CSC copies of the description and co-investment
        matrices (column slices of a CSR matrix scan all of it; of a CSC one they take microseconds), and
        each history startup's engagements as shares of its total (what ``co_investor_score`` averages
        the co-investment over)."""
        if getattr(self, "_by_column", None) is None:
            totals = np.asarray(self.engagement_.sum(axis=1), dtype=np.float32).ravel()
            share = sp.csr_matrix(sp.diags(1.0 / np.maximum(totals, 1e-9)) @ self.engagement_, dtype=np.float32)
            self._by_column = (self.description_text_t_.tocsc(), self.co_investor_.tocsc(), share)
        return self._by_column

    def co_investment_partner(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray,
                              among: NDArray[np.bool_] | None = None) -> IntArray:
        """For each pair, the investor row, among those the startup engaged before the date (and, with
        ``among``, only those rows marked True), that most often backs the same startups as the pair's
        investor (what ``co_investor_score`` sums); -1 when none."""
        self._check()
        out = np.full(len(s_rows), -1, dtype=np.int64)
        fit_rows = block.fit_row[s_rows]
        known = np.flatnonzero(fit_rows >= 0)
        if len(known) == 0 or self.co_investor_.nnz == 0:
            return out
        _, co_c, _ = self._derived()
        engaged = self.engagement_[fit_rows[known]]
        if among is not None:
            engaged = engaged @ sp.diags(among.astype(np.float32))
        joint = sp.csr_matrix(engaged.multiply(co_c[:, inv_rows[known]].T))
        best = np.asarray(joint.argmax(axis=1)).ravel()
        value = joint.max(axis=1).toarray().ravel()
        out[known] = np.where(value > 0, best, -1)
        return out

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state.pop("_by_column", None)  # derived: rebuilt on first use
        text = state.get("text_")
        if isinstance(text, TfidfVectorizer):
            # skops writes each value of the n-gram vocabulary (numpy integers) as a file of its own, and
            # rescans the archive's names for every file: 10,000 terms were two thirds of the medium world's
            # save. The terms are written as one array in column order and the dict rebuilt on load.
            vocabulary = text.vocabulary_
            state["text_"] = copy.copy(text)
            del state["text_"].vocabulary_
            state["text_terms_"] = np.array(sorted(vocabulary, key=vocabulary.__getitem__), dtype=str)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        terms = state.pop("text_terms_", None)
        self.__dict__.update(state)
        if isinstance(terms, np.ndarray) and self.text_ is not None:
            self.text_.vocabulary_ = {term: column for column, term in enumerate(terms.tolist())}

    def _dense_rows(self, block: StartupBlock, rows: IntArray, inv: IntArray | None = None,
                    columns: InvestorColumns | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
        """For distinct block rows: dense (rows × investors) portfolio-text similarity, description
        similarity and co-investment score, over the investor rows ``inv`` (default: all). Restricting
        the investors first matters when one investor ranks every startup: 20,000 × 1, not 20,000 × all.
        ``columns`` is ``_investor_columns(inv)`` when the caller loops over many row blocks."""
        portfolio_t, description_t, co_investor, few = columns if columns is not None else self._investor_columns(inv)
        text = self._text_rows(block, rows)
        portfolio = np.asarray(text @ portfolio_t, dtype=np.float32)
        description = _as_dense(text @ description_t)
        co = self._co_rows(block, rows, co_investor, few)
        if inv is not None and not few:
            return portfolio[:, inv], description[:, inv], co[:, inv]
        return portfolio, description, co

    def _weighted_rows(self, block: StartupBlock, rows: IntArray, inv: IntArray | None, columns: InvestorColumns,
                       weights: tuple[float, float, float]) -> FloatArray:
        """``a · portfolio + b · description + c · co`` of :meth:`_dense_rows` for ``weights`` (a, b, c): what
        the linear stage adds up. Over a few (dense) investor columns the two text columns are combined
        first, T·(a·P + b·D) = a·T·P + b·T·D: one sparse-matrix × vector product per investor instead of
        two, the larger part of one investor's list over 20,000 startups."""
        a, b, c = weights
        portfolio_t, description_t, co_investor, few = columns
        if not few or sp.issparse(description_t):
            portfolio, description, co = self._dense_rows(block, rows, inv, columns)
            return np.asarray(a * portfolio + b * description + c * co, dtype=np.float32)
        combined = (a * portfolio_t + b * np.asarray(description_t)).astype(np.float32)
        return _as_dense(self._text_rows(block, rows) @ combined) + c * self._co_rows(block, rows, co_investor, few)

    @staticmethod
    def _text_rows(block: StartupBlock, rows: IntArray) -> sp.csr_matrix:
        whole = len(rows) == len(block) and bool((rows == np.arange(len(block))).all())
        return block.text if whole else block.text[rows]  # every startup (one investor's list): no copy

    def _co_rows(self, block: StartupBlock, rows: IntArray, co_investor: FloatArray | sp.csr_matrix,
                 few: bool) -> FloatArray:
        """``co_investor_score`` of the block ``rows`` against the columns of ``co_investor``: the
        co-investment of the startup's earlier investors with each, weighted by their engagement shares."""
        fit_rows = block.fit_row[rows]
        co = np.zeros((len(rows), co_investor.shape[1]), dtype=np.float32)
        known = fit_rows >= 0
        if known.any():
            share = self._derived()[2]
            # A few (dense) investor columns: every history startup at once, then a gather (no row copies).
            co[known] = (_as_dense(share @ co_investor)[fit_rows[known]] if few
                         else _as_dense(share[fit_rows[known]] @ co_investor))
        return co

    def _dense_blocks(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray) -> Iterator[
            tuple[NDArray[np.bool_], IntArray, IntArray, FloatArray, FloatArray, FloatArray]]:
        """Per chunk of distinct startups: which pairs it covers, their local row and column, and the dense
        blocks (over the distinct investors of the pairs only)."""
        unique, inverse = np.unique(s_rows, return_inverse=True)
        investors, columns = np.unique(inv_rows, return_inverse=True)
        restricted = self._investor_columns(investors)
        step = _dense_step(len(investors))
        for start in range(0, len(unique), step):
            chunk = unique[start : start + step]
            mask = (inverse >= start) & (inverse < start + len(chunk))
            yield (mask, inverse[mask] - start, columns[mask],
                   *self._dense_rows(block, chunk, investors, restricted))

    def linear_grid(
        self, block: StartupBlock, s_rows: IntArray, coef: dict[str, float], intercept: float,
        inv_rows: IntArray | None = None,
    ) -> FloatArray:
        """``intercept + Σ coef[f] · f`` for every (startup row × investor row) pair, NaN features counted
        as 0, computed from column gathers of the investor matrices without materialising pair features:
        the cheap first stage that picks candidates for the re-ranker. ``coef`` keys: ``GRID_FEATURES``;
        ``inv_rows`` defaults to every investor."""
        self._check()
        unknown = set(coef) - set(GRID_FEATURES)
        if unknown:
            raise InvalidInputError(f"not computable on a grid: {', '.join(sorted(unknown))}", field="coef")
        inv = np.arange(len(self.investor_ids_)) if inv_rows is None else inv_rows
        sec, stage = block.sector[s_rows], block.stage[s_rows]
        stage_idx = np.where(stage >= 0, stage, _N_STAGES)
        out = np.full((len(s_rows), len(inv)), intercept, dtype=np.float32)
        per_investor = np.zeros(len(inv), dtype=np.float32)
        for j, name in enumerate(INVESTOR_SCALARS):
            if name in coef:
                per_investor += coef[name] * np.nan_to_num(self.investor_scalars_[inv, j])
        out += per_investor[None, :]
        engagement = self.sector_engagement_[np.ix_(inv, sec)].T
        top = self.sector_engagement_top_[sec][:, None]
        gathers: dict[str, Callable[[], FloatArray]] = {
            "declared_sector_fit": lambda: self.declared_sector_[np.ix_(inv, sec)].T,
            "declared_stage_fit": lambda: self.declared_stage_[np.ix_(inv, stage_idx)].T,
            "declared_region_fit": lambda: np.maximum(self.declared_region_[np.ix_(inv, block.region[s_rows])],
                                                      self.declared_region_[np.ix_(inv, block.city[s_rows])]).T,
            "learned_sector_share": lambda: self.learned_sector_[np.ix_(inv, sec)].T,
            "learned_sub_sector_share": lambda: self.learned_sub_sector_[np.ix_(inv, block.sub_sector[s_rows])].T,
            "learned_stage_share": lambda: self.learned_stage_[np.ix_(inv, stage_idx)].T * (stage >= 0)[:, None],
            "learned_region_share": lambda: self.learned_region_[np.ix_(inv, block.city[s_rows])].T,
            "log_sector_engagement": lambda: np.log1p(engagement / self.history_years_),
            "sector_engagement_relative": lambda: np.divide(
                engagement, top, out=np.zeros_like(engagement), where=top > 0),
            "log_stage_engagement": lambda: np.log1p(
                self.stage_engagement_[np.ix_(inv, stage_idx)].T / self.history_years_) * (stage >= 0)[:, None],
        }
        for name, gather in gathers.items():
            if name in coef:
                out += coef[name] * gather()
        if {"text_sim_portfolio", "text_sim_description", "co_investor_score"} & set(coef):
            restricted = self._investor_columns(inv_rows)
            step = _dense_step(len(inv))
            for start in range(0, len(s_rows), step):
                part = slice(start, start + step)
                out[part] += self._weighted_rows(block, s_rows[part], inv_rows, restricted, (
                    coef.get("text_sim_portfolio", 0.0), coef.get("text_sim_description", 0.0),
                    coef.get("co_investor_score", 0.0)))
        return out

    def transform(self, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray) -> FloatArray:
        """Features (columns ``PAIR_FEATURES``) of the pairs (block row, investor row); NaN = unknown."""
        self._check()
        n = len(s_rows)
        out = np.full((n, len(PAIR_FEATURES)), np.nan, dtype=np.float32)
        col = {name: j for j, name in enumerate(PAIR_FEATURES)}
        sec, stage, region = block.sector[s_rows], block.stage[s_rows], block.region[s_rows]
        known_stage = stage >= 0
        stage_idx = np.where(known_stage, stage, _N_STAGES)

        def fit_or_nan(value: FloatArray, applicable: NDArray[np.bool_]) -> FloatArray:
            return np.where(applicable, value, np.nan).astype(np.float32)

        has_sec = self.has_declared_sector_[inv_rows]
        out[:, col["declared_sector_fit"]] = fit_or_nan(self.declared_sector_[inv_rows, sec],
                                                        has_sec & block.has_sector[s_rows])
        out[:, col["declared_stage_fit"]] = fit_or_nan(self.declared_stage_[inv_rows, stage_idx],
                                                       self.has_declared_stage_[inv_rows] & known_stage)
        city = block.city[s_rows]
        region_match = np.maximum(self.declared_region_[inv_rows, region], self.declared_region_[inv_rows, city])
        out[:, col["declared_region_fit"]] = fit_or_nan(region_match,
                                                        self.has_declared_region_[inv_rows] & block.has_region[s_rows])
        ask = block.ask[s_rows]
        lo, hi = self.ticket_min_[inv_rows], self.ticket_max_[inv_rows]
        has_ticket = ~np.isnan(ask) & (~np.isnan(lo) | ~np.isnan(hi))
        with np.errstate(invalid="ignore", divide="ignore"):
            log_ask = np.log1p(np.maximum(ask, 0))
            below = np.log1p(np.nan_to_num(lo, nan=0.0)) - log_ask
            above = log_ask - np.log1p(np.nan_to_num(hi, nan=np.inf))
            gap = np.maximum(np.maximum(below, above), 0)
            out[:, col["declared_ticket_fit"]] = fit_or_nan((gap == 0).astype(np.float32), has_ticket)
            out[:, col["declared_ticket_gap"]] = fit_or_nan(gap, has_ticket)
            out[:, col["learned_ticket_gap"]] = np.abs(log_ask - self.log_median_amount_[inv_rows])
            out[:, col["learned_stage_gap"]] = fit_or_nan(
                np.abs(stage - self.mean_stage_learned_[inv_rows]), known_stage)
        out[:, col["learned_sector_share"]] = self.learned_sector_[inv_rows, sec]
        engagement = self.sector_engagement_[inv_rows, sec]
        out[:, col["log_sector_engagement"]] = np.log1p(engagement / self.history_years_)
        top = self.sector_engagement_top_[sec]
        out[:, col["sector_engagement_relative"]] = np.divide(
            engagement, top, out=np.zeros(n, dtype=np.float32), where=top > 0)
        out[:, col["learned_sub_sector_share"]] = self.learned_sub_sector_[inv_rows, block.sub_sector[s_rows]]
        out[:, col["learned_stage_share"]] = fit_or_nan(self.learned_stage_[inv_rows, stage_idx], known_stage)
        out[:, col["learned_region_share"]] = self.learned_region_[inv_rows, city]
        out[:, [col[c] for c in INVESTOR_SCALARS]] = self.investor_scalars_[inv_rows]
        out[:, col["log_stage_engagement"]] = fit_or_nan(
            np.log1p(self.stage_engagement_[inv_rows, stage_idx] / self.history_years_), known_stage)
        out[:, col["investor_kind"]] = self.investor_kind_[inv_rows]
        out[:, [col[c] for c in STARTUP_NUMERIC]] = block.numeric[s_rows]
        fit_row = block.fit_row[s_rows]
        out[:, col["startup_history"]] = np.where(
            fit_row >= 0, self.history_count_[np.maximum(fit_row, 0)] if len(self.history_count_) else 0, 0)
        for mask, local, inv, portfolio, description, co in self._dense_blocks(block, s_rows, inv_rows):
            out[mask, col["text_sim_portfolio"]] = portfolio[local, inv]
            out[mask, col["text_sim_description"]] = description[local, inv]
            out[mask, col["co_investor_score"]] = co[local, inv]
        return out


class FeaturizerCache:
    """Featurizers of one data set at several dates, each fitted once and sharing one text model: tuning
    fits several models at the same dates (the validation cut-off, the training windows before it).
    ``memo`` keeps what models derive from them and can share (training pairs), under keys they choose."""

    def __init__(self, data: DataSet, max_text_features: int = 10000) -> None:
        self.data = data
        self.max_text_features = max_text_features
        self._text: TextModel | None = None
        self._fitted: dict[date, PairFeaturizer] = {}
        self.memo: dict[Hashable, Any] = {}

    def at(self, day: date) -> PairFeaturizer:
        if day not in self._fitted:
            if self._text is None:
                self._text = fit_text_model(self.data, self.max_text_features)
            self._fitted[day] = PairFeaturizer(self.max_text_features).fit(self.data, day, self._text)
        return self._fitted[day]
