"""Short, human-readable reasons for a recommendation, drawn from the pair's strongest features.

Each candidate reason has a strength (NaN when it does not apply to the pair); the 1–3 strongest are
kept, in Chinese (``reasons``) and English (``reasons_en``). A pair with nothing specific to say still
gets the investor's type, so every recommendation carries at least one true statement.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from matcher.domain import STAGE_LABELS_ZH, STAGE_ORDER, InvestorKind
from matcher.features.pairs import PAIR_FEATURES, FloatArray, IntArray, PairFeaturizer, StartupBlock
from matcher.taxonomy import sector_label

MAX_REASONS = 3
SECTOR_SHARE = 0.25  # learned share of an investor's engagements in the startup's sector worth mentioning
STAGE_SHARE = 0.25
REGION_SHARE = 0.3
TEXT_SIMILARITY = 0.2
CO_INVESTOR = 0.05
LEARNED_TICKET_GAP = 0.4  # |log(ask) − log(typical cheque)|: within ~1.5× of what it usually puts in

# Up to this many pairs (one target's top k on the serving path) reasons are formatted in plain Python:
# the polars query below has a fixed cost of several milliseconds, more than formatting a few rows.
_PYTHON_ROWS = 64
_REASONS = ("sector", "stage", "ticket", "region", "text", "co", "recent", "kind")

STAGE_LABELS_EN: dict[str, str] = {
    "idea": "Idea", "seed": "Seed", "angel": "Angel", "pre_a": "Pre-A", "a": "Series A", "b": "Series B",
    "c": "Series C", "d_plus": "Series D+", "pre_ipo": "Pre-IPO", "public": "Public",
}
KIND_LABELS: dict[str, tuple[str, str]] = {
    InvestorKind.VC.value: ("风险投资机构", "Venture capital"),
    InvestorKind.PE.value: ("私募股权机构", "Private equity"),
    InvestorKind.ANGEL.value: ("天使投资人", "Angel investor"),
    InvestorKind.GUIDANCE_FUND.value: ("政府引导基金", "Government guidance fund"),
    InvestorKind.CVC.value: ("产业资本", "Corporate venture capital"),
    InvestorKind.BANK.value: ("银行", "Bank"),
    InvestorKind.OTHER.value: ("其他机构", "Other institution"),
}


def _amount(expr: pl.Expr) -> pl.Expr:
    return expr.round(0).cast(pl.Int64).cast(pl.Utf8)


def explain(
    featurizer: PairFeaturizer, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray
) -> tuple[pl.Series, pl.Series]:
    """Reasons (zh, en) for each pair (block row, investor row) whose features are ``feats``: two
    List(Utf8) series, 1–3 entries each, strongest first."""
    f = featurizer
    col = {name: feats[:, j] for j, name in enumerate(PAIR_FEATURES)}
    sector_tok = np.array(block.sector_token, dtype=object)[s_rows] if len(block) else np.array([], dtype=object)
    region_tok = np.array(block.region_token, dtype=object)[s_rows] if len(block) else np.array([], dtype=object)
    city_tok = np.array(block.city_token, dtype=object)[s_rows] if len(block) else np.array([], dtype=object)

    def fit(name: str) -> np.ndarray:
        return np.nan_to_num(col[name], nan=0.0)

    sector_share, stage_share = fit("learned_sector_share"), fit("learned_stage_share")
    sector_strength = np.maximum(np.where(fit("declared_sector_fit") == 1, 1.0, 0.0),
                                 np.where(sector_share >= SECTOR_SHARE, sector_share, 0.0))
    stage_strength = np.maximum(np.where(fit("declared_stage_fit") == 1, 0.8, 0.0),
                                np.where(stage_share >= STAGE_SHARE, 0.8 * stage_share, 0.0))
    declared_ticket = fit("declared_ticket_fit") == 1
    learned_ticket = np.nan_to_num(col["learned_ticket_gap"], nan=np.inf) <= LEARNED_TICKET_GAP
    ticket_strength = np.where(declared_ticket, 0.7, np.where(learned_ticket, 0.5, 0.0))
    declared_region = fit("declared_region_fit") == 1
    region_strength = np.where(declared_region, 0.5, np.where(fit("learned_region_share") >= REGION_SHARE, 0.4, 0.0))
    text = fit("text_sim_portfolio")
    text_strength = np.where(text >= TEXT_SIMILARITY, np.minimum(1.5 * text, 0.95), 0.0)
    co = fit("co_investor_score")
    co_strength = np.where(co >= CO_INVESTOR, np.minimum(0.6 + co, 0.9), 0.0)
    recent_strength = np.where(np.nan_to_num(f.n_positive_recent_[inv_rows], nan=0.0) >= 1, 0.3, 0.0)
    strengths = np.column_stack([
        sector_strength, stage_strength, ticket_strength, region_strength, text_strength, co_strength,
        recent_strength, np.full(len(s_rows), 0.01),
    ])
    stage = block.stage[s_rows]
    if len(s_rows) <= _PYTHON_ROWS:
        return _explain_few(f, inv_rows, sector_tok=sector_tok, region_tok=region_tok, city_tok=city_tok, stage=stage,
                            declared_ticket=declared_ticket, declared_region=declared_region, strengths=strengths)
    stage_values = [s.value for s in STAGE_ORDER]
    frame = pl.DataFrame(
        {
            "sector": pl.Series(sector_tok.tolist(), dtype=pl.Utf8),
            "region": pl.Series(region_tok.tolist(), dtype=pl.Utf8),
            "city": pl.Series(city_tok.tolist(), dtype=pl.Utf8),
            "stage": pl.Series([stage_values[s] if s >= 0 else None for s in stage.tolist()], dtype=pl.Utf8),
            "ticket_min": f.ticket_min_[inv_rows],
            "ticket_max": f.ticket_max_[inv_rows],
            "typical": np.expm1(f.log_median_amount_[inv_rows]),
            "recent": f.n_positive_recent_[inv_rows],
            "kind": f.investor_kind_label_[inv_rows],
        },
        nan_to_null=True,
    )
    sector_zh = frame["sector"].replace_strict(
        {t: sector_label(t, "zh") for t in frame["sector"].drop_nulls().unique().to_list()}, default=None)
    sector_en = frame["sector"].replace_strict(
        {t: sector_label(t, "en") for t in frame["sector"].drop_nulls().unique().to_list()}, default=None)
    ticket_range = (
        pl.when(pl.col("ticket_min").is_not_null() & pl.col("ticket_max").is_not_null())
        .then(pl.format("{}–{}万", _amount(pl.col("ticket_min")), _amount(pl.col("ticket_max"))))
        .when(pl.col("ticket_min").is_not_null())
        .then(pl.format("{}万以上", _amount(pl.col("ticket_min"))))
        .otherwise(pl.format("{}万以内", _amount(pl.col("ticket_max"))))
    )
    ticket_range_en = (
        pl.when(pl.col("ticket_min").is_not_null() & pl.col("ticket_max").is_not_null())
        .then(pl.format("{}–{} (10k CNY)", _amount(pl.col("ticket_min")), _amount(pl.col("ticket_max"))))
        .when(pl.col("ticket_min").is_not_null())
        .then(pl.format("from {} (10k CNY)", _amount(pl.col("ticket_min"))))
        .otherwise(pl.format("up to {} (10k CNY)", _amount(pl.col("ticket_max"))))
    )
    declared_ticket_s = pl.Series(declared_ticket)
    texts = frame.with_columns(sector_zh=sector_zh, sector_en=sector_en, declared_ticket=declared_ticket_s,
                               place=pl.when(pl.Series(declared_region)).then("region").otherwise("city")).select(
        pl.format("同赛道: {}", "sector_zh").alias("sector_zh"),
        pl.format("Same sector: {}", "sector_en").alias("sector_en"),
        pl.format("阶段匹配: {}", pl.col("stage").replace_strict(
            {s.value: z for s, z in STAGE_LABELS_ZH.items()}, default=None)).alias("stage_zh"),
        pl.format("Stage fit: {}", pl.col("stage").replace_strict(STAGE_LABELS_EN, default=None)).alias("stage_en"),
        pl.when("declared_ticket").then(pl.format("投资额匹配: {}", ticket_range))
        .otherwise(pl.format("投资额匹配: 过往单笔约{}万", _amount(pl.col("typical")))).alias("ticket_zh"),
        pl.when("declared_ticket").then(pl.format("Ticket fit: {}", ticket_range_en))
        .otherwise(pl.format("Ticket fit: past cheques about {} (10k CNY)", _amount(pl.col("typical"))))
        .alias("ticket_en"),
        pl.format("同地区: {}", "place").alias("region_zh"),
        pl.format("Same region: {}", "place").alias("region_en"),
        pl.lit("业务相近: 与其已投项目描述相似").alias("text_zh"),
        pl.lit("Similar business: close to its portfolio descriptions").alias("text_en"),
        pl.lit("同投网络: 常与您接触过的机构共同出手").alias("co_zh"),
        pl.lit("Co-investor network: backs the same startups as your past contacts").alias("co_en"),
        pl.format("近一年活跃: {}个项目达成意向", _amount(pl.col("recent"))).alias("recent_zh"),
        pl.format("Active: {} positive outcomes in the last year", _amount(pl.col("recent"))).alias("recent_en"),
        pl.format("机构类型: {}", pl.col("kind").replace_strict(
            {k: z for k, (z, _) in KIND_LABELS.items()}, default="其他机构")).alias("kind_zh"),
        pl.format("Investor type: {}", pl.col("kind").replace_strict(
            {k: e for k, (_, e) in KIND_LABELS.items()}, default="Other institution")).alias("kind_en"),
    )
    names = _REASONS
    # A reason whose text could not be formed (e.g. no stage label) does not apply.
    missing = texts.select([pl.col(f"{n}_zh").is_null() for n in names]).to_numpy().reshape(len(s_rows), len(names))
    strengths = np.where((strengths > 0) & ~missing, strengths, -np.inf)
    order = np.argsort(-strengths, axis=1, kind="stable")[:, :MAX_REASONS]
    slots = np.where(np.take_along_axis(strengths, order, axis=1) > -np.inf, order, -1)

    def pick(slot: pl.Expr, lang: str) -> pl.Expr:
        # the reason's column by its index, as one polars expression: no per-row Python
        # slot −1 means "no reason here" (a negative index would wrap around to the last reason)
        chosen = pl.concat_list([pl.col(f"{n}_{lang}") for n in names]).list.get(slot.clip(lower_bound=0))
        return pl.when(slot >= 0).then(chosen)

    slot_cols = [pl.Series(f"slot{j}", slots[:, j]) for j in range(slots.shape[1])]
    lists = texts.with_columns(slot_cols).select(
        pl.concat_list([pick(pl.col(f"slot{j}"), "zh") for j in range(slots.shape[1])]).list.drop_nulls().alias("zh"),
        pl.concat_list([pick(pl.col(f"slot{j}"), "en") for j in range(slots.shape[1])]).list.drop_nulls().alias("en"),
    )
    return lists["zh"], lists["en"]


def _amount_text(value: float) -> str | None:
    """:func:`_amount` for one value: NaN is null, ties round to even as polars' ``round`` does."""
    return None if np.isnan(value) else str(round(value))


def _format(template: str, value: str | None) -> str | None:
    return None if value is None else template.format(value)


def _explain_few(
    f: PairFeaturizer, inv_rows: IntArray, *, sector_tok: NDArray[np.object_], region_tok: NDArray[np.object_],
    city_tok: NDArray[np.object_], stage: IntArray, declared_ticket: NDArray[np.bool_],
    declared_region: NDArray[np.bool_], strengths: NDArray[np.float64],
) -> tuple[pl.Series, pl.Series]:
    """The texts :func:`explain` builds with polars, row by row for a handful of pairs; ``None`` wherever
    the polars expression gives null (a null part makes the whole ``format`` null)."""
    stage_zh = {s.value: z for s, z in STAGE_LABELS_ZH.items()}
    zh_lists: list[list[str]] = []
    en_lists: list[list[str]] = []
    for j, inv in enumerate(inv_rows.tolist()):
        lo, hi = float(f.ticket_min_[inv]), float(f.ticket_max_[inv])
        lo_t, hi_t = _amount_text(lo), _amount_text(hi)
        if declared_ticket[j]:
            if lo_t is not None and hi_t is not None:
                ticket_zh: str | None = f"投资额匹配: {lo_t}–{hi_t}万"
                ticket_en: str | None = f"Ticket fit: {lo_t}–{hi_t} (10k CNY)"
            elif lo_t is not None:
                ticket_zh, ticket_en = f"投资额匹配: {lo_t}万以上", f"Ticket fit: from {lo_t} (10k CNY)"
            elif hi_t is not None:
                ticket_zh, ticket_en = f"投资额匹配: {hi_t}万以内", f"Ticket fit: up to {hi_t} (10k CNY)"
            else:
                ticket_zh = ticket_en = None
        else:
            typical = _amount_text(float(np.expm1(f.log_median_amount_[inv])))
            ticket_zh = None if typical is None else f"投资额匹配: 过往单笔约{typical}万"
            ticket_en = None if typical is None else f"Ticket fit: past cheques about {typical} (10k CNY)"
        sector, place = sector_tok[j], region_tok[j] if declared_region[j] else city_tok[j]
        stage_value = STAGE_ORDER[stage[j]].value if stage[j] >= 0 else None
        recent = _amount_text(float(f.n_positive_recent_[inv]))
        kind = str(f.investor_kind_label_[inv])
        texts: dict[str, tuple[str | None, str | None]] = {
            "sector": (None, None) if sector is None else (
                f"同赛道: {sector_label(sector, 'zh')}", f"Same sector: {sector_label(sector, 'en')}"),
            "stage": (_format("阶段匹配: {}", stage_zh.get(stage_value or "")),
                      _format("Stage fit: {}", STAGE_LABELS_EN.get(stage_value or ""))),
            "ticket": (ticket_zh, ticket_en),
            "region": (None, None) if place is None else (f"同地区: {place}", f"Same region: {place}"),
            "text": ("业务相近: 与其已投项目描述相似", "Similar business: close to its portfolio descriptions"),
            "co": ("同投网络: 常与您接触过的机构共同出手",
                   "Co-investor network: backs the same startups as your past contacts"),
            "recent": (None, None) if recent is None else (
                f"近一年活跃: {recent}个项目达成意向", f"Active: {recent} positive outcomes in the last year"),
            "kind": (f"机构类型: {KIND_LABELS.get(kind, ('其他机构', ''))[0]}",
                     f"Investor type: {KIND_LABELS.get(kind, ('', 'Other institution'))[1]}"),
        }
        # Strongest first, ties in _REASONS order (the stable sort of the polars path).
        usable = [(-strengths[j, r], r) for r, name in enumerate(_REASONS)
                  if strengths[j, r] > 0 and texts[name][0] is not None]
        chosen = [_REASONS[r] for _, r in sorted(usable)[:MAX_REASONS]]
        zh_lists.append([t for name in chosen if (t := texts[name][0]) is not None])
        en_lists.append([t for name in chosen if (t := texts[name][1]) is not None])
    return pl.Series(zh_lists, dtype=pl.List(pl.Utf8)), pl.Series(en_lists, dtype=pl.List(pl.Utf8))
