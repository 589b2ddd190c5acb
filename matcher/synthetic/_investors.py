"""Investors and banks: declared preferences (investors.csv) versus actual ones (truth), and loan products."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from matcher.domain import STAGE_LABELS_ZH, STAGE_ORDER, InvestorKind, ProductKind
from matcher.synthetic import _text as text
from matcher.synthetic._config import LATENT_DIM
from matcher.synthetic._startups import ASK_MEDIAN, SECTOR_MIX, nice_round
from matcher.taxonomy import SECTORS, sector_label

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_KINDS = (InvestorKind.VC, InvestorKind.PE, InvestorKind.ANGEL, InvestorKind.GUIDANCE_FUND, InvestorKind.CVC,
          InvestorKind.OTHER)
_KIND_MIX = np.array([0.42, 0.15, 0.12, 0.10, 0.14, 0.07])
# Declared stage focus per kind: centre ordinal and half-width (angel=2, a=4, c=6).
_STAGE_FOCUS = np.array([(4.0, 1.5), (6.5, 1.5), (2.0, 1.0), (3.5, 2.0), (4.5, 1.5), (4.0, 2.5)])
_KIND_LABELS = {InvestorKind.VC: "创业投资", InvestorKind.PE: "私募股权", InvestorKind.ANGEL: "天使投资",
                InvestorKind.GUIDANCE_FUND: "政府引导基金", InvestorKind.CVC: "产业资本", InvestorKind.OTHER: "投资"}
_GENERALIST = np.array([False, False, False, True, False, True])
_HOMES = ("湘潭", "长沙", "株洲", "深圳", "北京", "上海")
_HOME_MIX = np.array([0.30, 0.35, 0.05, 0.10, 0.10, 0.10])
_LOCAL_HOMES = 3  # the first three homes are in Hunan
_NAME_FORMS = {
    InvestorKind.VC: ("{c}{b}创业投资有限公司", "{c}{b}资本管理有限公司", "{b}创投（{c}）有限公司"),
    InvestorKind.PE: ("{c}{b}股权投资基金管理有限公司", "{b}产业资本（{c}）有限公司", "{c}{b}投资控股有限公司"),
    InvestorKind.ANGEL: ("{c}{b}天使投资合伙企业（有限合伙）", "{b}种子基金（{c}）", "{c}{b}创业孵化投资有限公司"),
    InvestorKind.GUIDANCE_FUND: ("{c}{b}产业引导基金", "{c}{b}新兴产业发展基金", "{c}{b}科技成果转化基金"),
    InvestorKind.CVC: ("{b}集团产业投资有限公司", "{c}{b}实业投资有限公司", "{b}控股（{c}）创新投资有限公司"),
    InvestorKind.OTHER: ("{c}{b}科技金融服务有限公司", "{c}{b}投资咨询有限公司", "{b}家族办公室（{c}）"),
}
_BANKS = ("湖南银行", "中国光大银行", "中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "交通银行",
          "招商银行", "长沙银行", "兴业银行", "中信银行", "华夏银行", "浦发银行", "湘潭农村商业银行",
          "中国邮政储蓄银行", "民生银行", "平安银行", "广发银行", "浙商银行", "北京银行")
_BRANCHES = ("湘潭分行", "湘潭高新区支行", "湘潭岳塘支行", "湘潭雨湖支行", "湘潭九华支行", "湘潭韶山路支行")
_PRODUCT_NAMES = {
    ProductKind.KNOWLEDGE_VALUE_CREDIT: ("知识价值信用贷", "科创信用贷", "人才贷"),
    ProductKind.IP_PLEDGE: ("知识产权质押贷", "专利权质押融资", "商标权质押贷"),
    ProductKind.OTHER: ("助力贷", "税易贷", "园区批量担保贷", "科技保证贷"),
}


@dataclass(frozen=True, slots=True)
class InvestorWorld:
    """Hidden preferences; row ``k`` is ``ids[k]``. Banks come after the other investors."""

    ids: list[str]
    is_bank: BoolArray
    sector_weight: FloatArray  # (n, sectors) actual affinity in [0, 1]
    stage_center: FloatArray
    stage_width: FloatArray
    ticket_min: FloatArray
    ticket_max: FloatArray
    ticket_weight: FloatArray
    home: list[str]
    locality: FloatArray
    quality_taste: FloatArray
    activity: FloatArray
    latent: FloatArray  # (n, LATENT_DIM)
    declared_sectors: list[list[str]]  # sector codes as declared
    declared_stages: list[list[int]]
    kind: list[str]
    frame: pl.DataFrame

    def truth_frame(self) -> pl.DataFrame:
        return pl.DataFrame({
            "investor_id": self.ids,
            "kind": self.kind,
            **{f"w_{s.code}": np.round(self.sector_weight[:, j], 6) for j, s in enumerate(SECTORS)},
            "stage_center": np.round(self.stage_center, 6),
            "stage_width": np.round(self.stage_width, 6),
            "ticket_min_wan": self.ticket_min,
            "ticket_max_wan": self.ticket_max,
            "ticket_weight": self.ticket_weight,
            "home_city": self.home,
            "locality": np.round(self.locality, 6),
            "quality_taste": np.round(self.quality_taste, 6),
            "activity": np.round(self.activity, 6),
            **{f"t{k}": np.round(self.latent[:, k], 6) for k in range(LATENT_DIM)},
        })


def _ticket_for(center: FloatArray) -> FloatArray:
    """Typical cheque (万元) for a stage focus: interpolated asks, on a log scale."""
    log_ask = np.log(ASK_MEDIAN[:9])
    return np.exp(np.interp(center, np.arange(9), log_ask))


def make_investors(rng: np.random.Generator, n_inv: int, n_bank: int) -> InvestorWorld:
    k_sec = len(SECTORS)
    n = n_inv + n_bank
    kind_idx = rng.choice(len(_KINDS), size=n_inv, p=_KIND_MIX)
    generalist = _GENERALIST[kind_idx]

    # Actual sector affinity: one to three focus sectors, broader for generalist funds.
    n_focus = np.where(generalist, 3 + rng.integers(0, 4, size=n_inv), 1 + rng.binomial(2, 0.4, size=n_inv))
    gumbel = rng.gumbel(size=(n_inv, k_sec)) + np.log(SECTOR_MIX)
    order = np.argsort(-gumbel, axis=1)
    rank = np.argsort(order, axis=1)
    focus = rank < n_focus[:, None]
    weight_inv = np.where(focus, np.where(rank == 0, 1.0, 0.7), np.where(generalist[:, None], 0.3, 0.05))
    # Declared sectors go stale: 30% of them name a sector the investor no longer favours.
    stale = focus & (rng.random((n_inv, k_sec)) < 0.3)
    replacement = rng.integers(0, k_sec, size=(n_inv, k_sec))
    declared_sectors = []
    for row_focus, row_stale, row_repl, extra in zip(focus.tolist(), stale.tolist(), replacement.tolist(),
                                                     (rng.random(n_inv) < 0.25).tolist(), strict=True):
        codes = [SECTORS[row_repl[j] if row_stale[j] else j].code for j in range(k_sec) if row_focus[j]]
        if extra:
            codes.append(SECTORS[row_repl[-1]].code)
        declared_sectors.append(list(dict.fromkeys(codes)))

    decl_center = _STAGE_FOCUS[kind_idx, 0] + rng.normal(scale=0.5, size=n_inv)
    decl_width = _STAGE_FOCUS[kind_idx, 1]
    shift = rng.choice([-2, -1, 0, 1, 2], size=n_inv, p=[0.07, 0.18, 0.5, 0.18, 0.07])
    center = np.clip(decl_center + shift, 0, 8.5)
    width = decl_width * (0.6 + 0.4 * rng.random(n_inv))
    decl_ticket = _ticket_for(decl_center)
    ticket = _ticket_for(center) * np.exp(0.3 * rng.normal(size=n_inv))

    home_idx = rng.choice(len(_HOMES), size=n_inv, p=_HOME_MIX)
    local = home_idx < _LOCAL_HOMES
    locality = np.where(local, 0.5 + 0.5 * rng.random(n_inv), 0.3 * rng.random(n_inv))

    # Banks: broad sector appetite, growth-stage focus, small credit lines, care mostly about quality.
    bank_weight = 0.4 + 0.1 * rng.random((n_bank, k_sec))
    favoured = rng.random((n_bank, k_sec)) < 0.2
    bank_weight = np.where(favoured, bank_weight + 0.4, bank_weight)

    sector_weight = np.vstack([weight_inv, bank_weight])
    stage_center = np.concatenate([center, 4.0 + rng.normal(scale=0.7, size=n_bank)])
    stage_width = np.concatenate([width, 2.0 + rng.random(n_bank)])
    ticket_min = np.concatenate([nice_round(ticket / 3), np.full(n_bank, 100.0)])
    ticket_max = np.concatenate([nice_round(ticket * 3), np.full(n_bank, 1000.0)])
    ticket_weight = np.concatenate([np.ones(n_inv), np.full(n_bank, 0.2)])
    home = [_HOMES[i] for i in home_idx.tolist()] + ["湘潭"] * n_bank
    locality_all = np.concatenate([locality, np.ones(n_bank)])
    quality_taste = np.concatenate([0.4 + rng.random(n_inv), 1.0 + 0.8 * rng.random(n_bank)])
    activity = np.concatenate([np.exp(0.6 * rng.normal(size=n_inv)), np.exp(0.3 * rng.normal(size=n_bank))])
    latent = 1.2 * rng.normal(scale=1 / np.sqrt(LATENT_DIM), size=(n, LATENT_DIM))

    stage_ord = np.arange(9)
    decl_stages = [stage_ord[np.abs(stage_ord - c) <= w].tolist() for c, w in zip(decl_center, decl_width,
                                                                                  strict=True)]
    bank_stages = [list(range(2, 9))] * n_bank
    bank_sectors = [[s.code for s in SECTORS]] * n_bank

    brands, variant = text.unique_brands(rng, n_inv, 3)
    kinds = [_KINDS[i] for i in kind_idx.tolist()]
    inv_names = [_NAME_FORMS[k][v].format(c=_HOMES[h], b=b)
                 for k, v, h, b in zip(kinds, variant.tolist(), home_idx.tolist(), brands, strict=True)]
    # The city branches (湘潭分行) of every bank first, then sub-branches.
    bank_order = rng.permutation(len(_BANKS)).tolist()
    bank_names = [_BANKS[bank_order[p % len(_BANKS)]] + _BRANCHES[p // len(_BANKS)] for p in range(n_bank)]

    regions_inv = [["湘潭", "湖南"] if h == 0 else ["湖南"] if h < _LOCAL_HOMES else ["全国"]
                   for h in home_idx.tolist()]
    descriptions = _investor_descriptions(rng, kinds, weight_inv, decl_stages, center)
    ids = [f"I{k:04d}" for k in range(1, n_inv + 1)] + [f"B{k:03d}" for k in range(1, n_bank + 1)]
    all_decl_sectors = declared_sectors + bank_sectors
    all_decl_stages = decl_stages + bank_stages
    frame = pl.DataFrame({
        "investor_id": ids,
        "name": inv_names + bank_names,
        "kind": [k.value for k in kinds] + [InvestorKind.BANK.value] * n_bank,
        "sectors": [[sector_label(c) for c in row] for row in all_decl_sectors],
        "stages": [[STAGE_ORDER[j].value for j in row] for row in all_decl_stages],
        "regions": regions_inv + [["湘潭", "湖南"]] * n_bank,
        "ticket_min_wan": np.concatenate([nice_round(decl_ticket / 3), np.full(n_bank, 100.0)]),
        "ticket_max_wan": np.concatenate([nice_round(decl_ticket * 3), np.full(n_bank, 1000.0)]),
        "description": descriptions + [f"{name}科技金融服务，提供知识价值信用贷、知识产权质押等产品。"
                                       for name in bank_names],
    }, schema_overrides={"sectors": pl.List(pl.Utf8), "stages": pl.List(pl.Utf8),
                         "regions": pl.List(pl.Utf8)})
    return InvestorWorld(
        ids=ids, is_bank=np.arange(n) >= n_inv, sector_weight=sector_weight, stage_center=stage_center,
        stage_width=stage_width, ticket_min=ticket_min, ticket_max=ticket_max, ticket_weight=ticket_weight,
        home=home, locality=locality_all, quality_taste=quality_taste, activity=activity, latent=latent,
        declared_sectors=all_decl_sectors, declared_stages=all_decl_stages,
        kind=[k.value for k in kinds] + [InvestorKind.BANK.value] * n_bank, frame=frame,
    )


def _investor_descriptions(rng: np.random.Generator, kinds: list[InvestorKind], weight: FloatArray,
                           decl_stages: list[list[int]], center: FloatArray) -> list[str]:
    """Declared focus plus a portfolio line drawn from the ACTUAL focus, so text carries extra signal."""
    out = []
    top = np.argsort(-weight, axis=1)[:, :2].tolist()
    picks = rng.integers(0, 1_000_000, size=len(kinds)).tolist()
    for kind, best, stages, c, p in zip(kinds, top, decl_stages, center.tolist(), picks, strict=True):
        stage_text = "、".join(STAGE_LABELS_ZH[STAGE_ORDER[j]] for j in stages[:3]) or "各阶段"
        code = SECTORS[best[0]].code
        prods = text.PRODUCTS[code]
        recent = STAGE_LABELS_ZH[STAGE_ORDER[round(min(c, 8))]]
        out.append(f"{_KIND_LABELS[kind]}机构，关注{stage_text}项目。近期投资案例包括{prods[p % len(prods)]}、"
                   f"{SECTORS[best[1]].sub_sectors[p % len(SECTORS[best[1]].sub_sectors)]}等{recent}企业。")
    return out


def make_loan_products(rng: np.random.Generator, inv: InvestorWorld) -> pl.DataFrame:
    bank_ids = [i for i, b in zip(inv.ids, inv.is_bank.tolist(), strict=True) if b]
    n_bank = len(bank_ids)
    kinds = (ProductKind.KNOWLEDGE_VALUE_CREDIT, ProductKind.IP_PLEDGE, ProductKind.OTHER)
    offers = rng.random((n_bank, 3)) < np.array([0.85, 0.6, 0.45])
    # Every bank lends against knowledge value or IP; `other` products come on top.
    offers[~offers[:, :2].any(axis=1), 0] = True
    bank_of, kind_of = np.nonzero(offers)
    m = bank_of.size
    max_amount = rng.choice([100.0, 200.0, 300.0, 500.0, 800.0, 1000.0], size=m, p=[.05, .1, .25, .3, .15, .15])
    max_term = np.where(kind_of == 0, rng.choice([12, 24, 36], size=m, p=[.6, .25, .15]),
                        rng.choice([12, 24, 36], size=m, p=[.2, .4, .4]))
    min_grade = rng.choice(["A", "B", "C", "D", "E"], size=m, p=[.05, .15, .35, .3, .15])
    restricted = rng.random(m) < 0.2
    sector_pick = rng.choice(len(SECTORS), size=(m, 3), replace=True)
    names = [_PRODUCT_NAMES[kinds[k]][p % len(_PRODUCT_NAMES[kinds[k]])]
             for k, p in zip(kind_of.tolist(), rng.integers(0, 100, size=m).tolist(), strict=True)]
    return pl.DataFrame({
        "product_id": [f"P{k:04d}" for k in range(1, m + 1)],
        "bank_id": [bank_ids[b] for b in bank_of.tolist()],
        "kind": [kinds[k].value for k in kind_of.tolist()],
        "name": names,
        "max_amount_wan": max_amount,
        "max_term_months": max_term.astype(np.int64),
        "min_grade": min_grade.tolist(),
        "sectors": [sorted({sector_label(SECTORS[j].code) for j in row}) if r else []
                    for row, r in zip(sector_pick.tolist(), restricted.tolist(), strict=True)],
    }, schema_overrides={"sectors": pl.List(pl.Utf8)})
