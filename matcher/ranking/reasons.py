"""Short, human-readable reasons for a recommendation, drawn from the pair's strongest features.

Reasons suit the kind of institution. An investor's speak of sector, stage, ticket, region, portfolio
text and co-investors; a bank's of its loan products (which sectors they serve, up to what amount,
whether the startup's IP can be pledged, which admit its credit grade), of the startup's 科技型中小企业
status and grade when its profile tells them, and of its past lending in the startup's sector. Each reason
carries the pair's own values (the sector's name, the amounts, the co-investor's name, the similarity),
and each candidate has a strength (it does not apply when zero); the 1–3 strongest are kept, in Chinese
(``reasons``) and English (``reasons_en``). Weaker facts of the institution (its type when the data
gives one, when it was last active, its positive outcomes in all, what it declares) fill the list or tell
two items apart; a pair with nothing else to say still gets the institution's type, so every
recommendation carries a true statement.

Within one list (``lists`` says which pairs form one), two items never carry the same set of reasons
unless nothing tells them apart: a repeated set has its weakest reason swapped for the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray

from matcher.domain import STAGE_LABELS_ZH, STAGE_ORDER, InvestorKind, Outcome, ProductKind
from matcher.features.investor import ENGAGEMENT_WEIGHT
from matcher.features.pairs import INVESTOR_SCALARS, PAIR_FEATURES, FloatArray, IntArray, PairFeaturizer, StartupBlock
from matcher.features.startup import STARTUP_NUMERIC
from matcher.taxonomy import SECTOR_BY_CODE, sector_label

MAX_REASONS = 3
SECTOR_SHARE = 0.25  # learned share of an investor's engagements in the startup's sector worth mentioning
STAGE_SHARE = 0.25
REGION_SHARE = 0.3
TEXT_SIMILARITY = 0.2
CO_INVESTOR = 0.05
LEARNED_TICKET_GAP = 0.4  # |log(ask) − log(typical cheque)|: within ~1.5× of what it usually puts in

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
_STAGE_ZH = {s.value: z for s, z in STAGE_LABELS_ZH.items()}
_COL = {name: j for j, name in enumerate(PAIR_FEATURES)}
_IP_CLASS_I = STARTUP_NUMERIC.index("ip_class1_valid")
_DAYS_SINCE_LAST = INVESTOR_SCALARS.index("days_since_last")
_BANK = InvestorKind.BANK.value
_IP_PLEDGE = ProductKind.IP_PLEDGE.value

Reason = tuple[float, str, str]  # (strength, zh, en)


def _wan(value: float) -> str:
    return str(round(value))


def explain(
    featurizer: PairFeaturizer, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, feats: FloatArray,
    *, lists: IntArray | None = None,
) -> tuple[pl.Series, pl.Series]:
    """Reasons (zh, en) for each pair (block row, investor row) whose features are ``feats``: two
    List(Utf8) series, 1–3 entries each, strongest first. ``lists`` labels the list each pair belongs to
    (pairs of one list in rank order); without it every pair is its own list."""
    f = featurizer
    n = len(s_rows)
    # A co-investor is another investor: a bank that lent to the startup did not co-invest.
    partner = f.co_investment_partner(block, s_rows, inv_rows, among=f.investor_kind_label_ != _BANK)
    candidates = _Candidates(f, block, s_rows, inv_rows, feats=feats, partner=partner)
    owner = lists if lists is not None else np.arange(n)
    taken: dict[tuple[int, frozenset[str]], None] = {}
    zh_lists: list[list[str]] = []
    en_lists: list[list[str]] = []
    for j, reasons in enumerate(candidates):
        ranked = sorted(reasons, key=lambda r: -r[0])  # stable: ties keep the order they were proposed in
        chosen = ranked[:MAX_REASONS]
        key = (int(owner[j]), frozenset(r[1] for r in chosen))
        # Another item of this list says the same: swap the weakest reason for the next one until it differs.
        spare = iter(ranked[MAX_REASONS:])
        while key in taken and len(chosen) == MAX_REASONS:
            extra = next(spare, None)
            if extra is None:
                break
            chosen = [*chosen[:-1], extra]
            key = (key[0], frozenset(r[1] for r in chosen))
        taken[key] = None
        zh_lists.append([r[1] for r in chosen])
        en_lists.append([r[2] for r in chosen])
    return pl.Series(zh_lists, dtype=pl.List(pl.Utf8)), pl.Series(en_lists, dtype=pl.List(pl.Utf8))


class _Candidates:
    """Every reason that applies to each pair, computed from vectorised gathers and formatted row by row."""

    def __init__(self, f: PairFeaturizer, block: StartupBlock, s_rows: IntArray, inv_rows: IntArray, *,
                 feats: FloatArray, partner: IntArray) -> None:
        self.f, self.block, self.s_rows, self.inv_rows, self.partner = f, block, s_rows, inv_rows, partner
        engaged = f.engagement_
        positive = engaged.data >= ENGAGEMENT_WEIGHT[Outcome.INTERESTED.value]
        self.n_positive = np.bincount(engaged.indices[positive], minlength=engaged.shape[1])
        col = {name: np.nan_to_num(feats[:, j], nan=0.0) for name, j in _COL.items()}
        self.declared_sector = col["declared_sector_fit"] == 1
        self.sector_share = col["learned_sector_share"]
        self.declared_stage = col["declared_stage_fit"] == 1
        self.stage_share = col["learned_stage_share"]
        self.declared_ticket = col["declared_ticket_fit"] == 1
        self.learned_ticket = np.nan_to_num(feats[:, _COL["learned_ticket_gap"]], nan=np.inf) <= LEARNED_TICKET_GAP
        self.declared_region = col["declared_region_fit"] == 1
        self.learned_region = col["learned_region_share"] >= REGION_SHARE
        self.text = col["text_sim_portfolio"]
        self.co = col["co_investor_score"]
        self.sector = block.sector[s_rows]
        self.ask = block.ask[s_rows]
        self.ip_class1 = block.numeric[s_rows, _IP_CLASS_I]
        self.bank = f.investor_kind_label_[inv_rows] == _BANK
        self.lending = f.lending_[inv_rows, self.sector] if len(inv_rows) else np.zeros(0, dtype=np.float32)
        self.vocab = {i: t for t, i in f.sector_vocab_.items()}
        self.tech_sme, self.grade = f.tech_sme(block, s_rows[self.bank])
        self.tech_sme_at = np.cumsum(self.bank) - 1  # pair j (a bank's) → its position among the banks' pairs
        self.products: dict[int, NDArray[np.int64]] = {
            int(r): np.flatnonzero(f.product_row_ == r) for r in np.unique(inv_rows[self.bank])}

    def __iter__(self) -> Iterator[list[Reason]]:
        for j in range(len(self.s_rows)):
            reasons = self._bank(j) if self.bank[j] else self._investor(j)
            reasons.extend(self._common(j))
            kind = str(self.f.investor_kind_label_[self.inv_rows[j]])
            # "Investor type: other" (or none given, as in data that knows investors by name only) says
            # nothing, unless nothing else is true of the pair.
            if kind in KIND_LABELS and kind != InvestorKind.OTHER.value:
                zh, en = KIND_LABELS[kind]
                reasons.append((0.01, f"机构类型: {zh}", f"Investor type: {en}"))
            reasons.extend(self._spare(j))
            if not reasons:
                zh, en = KIND_LABELS[InvestorKind.OTHER.value]
                reasons.append((0.01, f"机构类型: {zh}", f"Investor type: {en}"))
            yield reasons

    def _spare(self, j: int) -> list[Reason]:
        """The weakest statements, only shown to tell two items of one list apart: what the institution
        declares or offers."""
        f, inv = self.f, int(self.inv_rows[j])
        out: list[Reason] = []
        # The startup's own facts tell apart the items of an investor's list of startups.
        ask = float(self.ask[j])
        if not np.isnan(ask):
            out.append((0.003, f"融资需求: {_wan(ask)}万", f"Seeks: {_wan(ask)} (10k CNY)"))
        if self.ip_class1[j] >= 1:
            n_ip = round(float(self.ip_class1[j]))
            out.append((0.002, f"知识产权: {n_ip}项有效Ⅰ类", f"IP: {n_ip} valid class-I assets"))
        if self.bank[j]:
            names = list(dict.fromkeys(str(f.product_name_[p]) for p in self.products.get(inv, [])))
            if names:
                out.append((0.005, f"贷款产品: {'、'.join(names[:3])}", f"Loan products: {', '.join(names[:3])}"))
            return out
        days = float(f.investor_scalars_[inv, _DAYS_SINCE_LAST])
        if not np.isnan(days):
            last = f.as_of_ - timedelta(days=round(days))
            out.append((0.006, f"最近互动: {last.year}年{last.month}月", f"Last active: {last:%Y-%m}"))
        if self.n_positive[inv] >= 1:
            n = int(self.n_positive[inv])
            out.append((0.0055, f"累计: {n}个项目达成意向", f"In all: {n} startups with a positive outcome"))
        tokens = [self.vocab[c] for c in np.flatnonzero(f.declared_sector_[inv, :-1])[:3]]
        if tokens:
            out.append((0.005, f"关注领域: {'、'.join(sector_label(t, 'zh') for t in tokens)}",
                        f"Focus: {', '.join(sector_label(t, 'en') for t in tokens)}"))
        lo, hi = float(f.ticket_min_[inv]), float(f.ticket_max_[inv])
        if not np.isnan(lo) and not np.isnan(hi):
            out.append((0.004, f"单笔投资: {_wan(lo)}–{_wan(hi)}万", f"Cheque size: {_wan(lo)}–{_wan(hi)} (10k CNY)"))
        return out

    def _sector_names(self, j: int) -> tuple[str, str] | None:
        """The startup's sector as the reasons name it: the taxonomy's label, followed by the startup's own
        where that says something else ("大数据·人工智能": an AI company is matched within big data)."""
        token = self.block.sector_token[self.s_rows[j]]
        if token is None:
            return None
        zh, en = sector_label(token, "zh"), sector_label(token, "en")
        own = self.block.sector_label[self.s_rows[j]]
        if own and SECTOR_BY_CODE.get(token) is not None and own.lower() not in (zh.lower(), en.lower()):
            return f"{zh}·{own}", f"{en} · {own}"
        return zh, en

    def _stage_names(self, j: int) -> tuple[str, str] | None:
        stage = self.block.stage[self.s_rows[j]]
        if stage < 0:
            return None
        value = STAGE_ORDER[stage].value
        return _STAGE_ZH[value], STAGE_LABELS_EN[value]

    def _investor(self, j: int) -> list[Reason]:
        f, inv = self.f, int(self.inv_rows[j])
        out: list[Reason] = []
        sector = self._sector_names(j)
        share = float(self.sector_share[j])
        if sector is not None and (self.declared_sector[j] or share >= SECTOR_SHARE):
            if share >= SECTOR_SHARE:
                pct = round(100 * share)
                out.append((max(share, 1.0 if self.declared_sector[j] else 0.0),
                            f"同赛道: {sector[0]}（占其过往项目{pct}%）",
                            f"Same sector: {sector[1]} ({pct}% of its past deals)"))
            else:
                out.append((1.0, f"同赛道: {sector[0]}", f"Same sector: {sector[1]}"))
        stage = self._stage_names(j)
        stage_share = float(self.stage_share[j])
        if stage is not None and (self.declared_stage[j] or stage_share >= STAGE_SHARE):
            if stage_share >= STAGE_SHARE:
                pct = round(100 * stage_share)
                out.append((max(0.8 * stage_share, 0.8 if self.declared_stage[j] else 0.0),
                            f"阶段匹配: {stage[0]}（占其过往项目{pct}%）",
                            f"Stage fit: {stage[1]} ({pct}% of its past deals)"))
            else:
                out.append((0.8, f"阶段匹配: {stage[0]}", f"Stage fit: {stage[1]}"))
        ask = float(self.ask[j])
        if not np.isnan(ask):
            lo, hi = float(f.ticket_min_[inv]), float(f.ticket_max_[inv])
            a = _wan(ask)
            if self.declared_ticket[j] and not (np.isnan(lo) and np.isnan(hi)):
                if not np.isnan(lo) and not np.isnan(hi):
                    zh, en = f"在其{_wan(lo)}–{_wan(hi)}万之间", f"within its {_wan(lo)}–{_wan(hi)}"
                elif not np.isnan(lo):
                    zh, en = f"不低于其{_wan(lo)}万起投", f"above its minimum {_wan(lo)}"
                else:
                    zh, en = f"在其{_wan(hi)}万以内", f"within its maximum {_wan(hi)}"
                out.append((0.7, f"投资额匹配: 需求{a}万, {zh}", f"Ticket fit: asks {a}, {en} (10k CNY)"))
            elif self.learned_ticket[j]:
                typical = _wan(float(np.expm1(f.log_median_amount_[inv])))
                out.append((0.5, f"投资额匹配: 需求{a}万, 其过往单笔约{typical}万",
                            f"Ticket fit: asks {a}, its past cheques about {typical} (10k CNY)"))
        text = float(self.text[j])
        if text >= TEXT_SIMILARITY:
            # The text is names, sector labels and descriptions (many records have no description).
            out.append((min(1.5 * text, 0.95), f"业务相近: 与其已投项目相似度{text:.2f}",
                        f"Similar business: {text:.2f} similarity to its portfolio (names, sectors, descriptions)"))
        partner = int(self.partner[j])
        if self.co[j] >= CO_INVESTOR and partner >= 0:
            name = str(f.investor_names_[partner])
            out.append((min(0.6 + float(self.co[j]), 0.9), f"同投网络: 常与您接触过的{name}共同出手",
                        f"Co-investor network: often backs the same startups as {name}, whom you have met"))
        return out

    def _bank(self, j: int) -> list[Reason]:
        f, inv = self.f, int(self.inv_rows[j])
        out: list[Reason] = []
        sector = self._sector_names(j)
        products = self.products.get(inv, np.zeros(0, dtype=np.int64))
        sector_idx = int(self.sector[j])
        serving = [p for p in products if sector is not None and f.product_sector_[p, sector_idx]]
        open_to_all = [p for p in products if f.product_any_sector_[p]]
        if serving:
            name = str(f.product_name_[serving[0]])
            assert sector is not None
            out.append((1.0, f"贷款产品覆盖本行业: {name}（{sector[0]}）",
                        f"Loan product for this sector: {name} ({sector[1]})"))
        elif open_to_all:
            name = str(f.product_name_[open_to_all[0]])
            out.append((0.45, f"贷款产品不限行业: {name}", f"Loan product open to every sector: {name}"))
        elif sector is not None and self.declared_sector[j]:
            out.append((0.5, f"服务行业: {sector[0]}", f"Serves this sector: {sector[1]}"))
        ask = float(self.ask[j])
        usable = [p for p in (serving or open_to_all or list(products))
                  if not np.isnan(f.product_max_wan_[p]) and not np.isnan(ask) and ask <= f.product_max_wan_[p]]
        if usable:
            name, most, a = f.product_name_[usable[0]], _wan(f.product_max_wan_[usable[0]]), _wan(ask)
            out.append((0.7, f"额度覆盖需求: {name}最高{most}万, 需求{a}万",
                        f"Amount fits: {name} lends up to {most}, asks {a} (10k CNY)"))
        pledge = [p for p in products if f.product_kind_[p] == _IP_PLEDGE]
        n_ip = float(self.ip_class1[j])
        if pledge and n_ip >= 1:
            name = str(f.product_name_[pledge[0]])
            out.append((0.75, f"可知识产权质押: {round(n_ip)}项有效Ⅰ类知识产权, 适用{name}",
                        f"IP-backed loan: {round(n_ip)} valid class-I IP assets for {name}"))
        out.extend(self._tech_sme(j, products))
        lent = float(self.lending[j])
        if sector is not None and lent >= 1:
            out.append((min(0.8 + 0.01 * lent, 0.95), f"本行业放贷经验: 向{sector[0]}企业放贷{round(lent)}笔",
                        f"Lends in this sector: {round(lent)} loans to {sector[1]} companies"))
        return out

    def _tech_sme(self, j: int, products: NDArray[np.int64]) -> list[Reason]:
        """The startup's 科技型中小企业 status and knowledge-value credit grade, when its profile tells them,
        and which of the bank's products that grade is admitted to (A is the best grade)."""
        at = int(self.tech_sme_at[j])
        status, grade = int(self.tech_sme[at]), self.grade[at]
        if status < 0 or (status == 0 and grade is None):
            return []
        f = self.f
        admits = [p for p in products if f.product_min_grade_[p] is not None and grade is not None
                  and grade <= f.product_min_grade_[p]]
        zh = ["科技型中小企业: 符合评价条件"] if status == 1 else []
        en = ["Tech-based SME: meets the evaluation"] if status == 1 else []
        if grade is not None:
            zh.append(f"知识价值信用评价{grade}级")
            en.append(f"knowledge-value credit grade {grade}")
        if admits:
            name, floor = str(f.product_name_[admits[0]]), str(f.product_min_grade_[admits[0]])
            zh.append(f"达到{name}准入{floor}级")
            en.append(f"admitted to {name} (grade {floor} or better)")
        strength = (0.72 if status == 1 else 0.3) + (0.1 if admits else 0.0)
        text_en = ", ".join(en)
        return [(strength, "，".join(zh), text_en[:1].upper() + text_en[1:])]

    def _common(self, j: int) -> list[Reason]:
        f, inv = self.f, int(self.inv_rows[j])
        out: list[Reason] = []
        s = int(self.s_rows[j])
        place = self.block.region_token[s] if self.declared_region[j] else (
            self.block.city_token[s] if self.learned_region[j] else None)
        if place is not None:
            out.append((0.5 if self.declared_region[j] else 0.4, f"同地区: {place}", f"Same region: {place}"))
        recent = float(np.nan_to_num(f.n_positive_recent_[inv], nan=0.0))
        if recent >= 1:
            out.append((0.3, f"近一年活跃: {round(recent)}个项目达成意向",
                        f"Active: {round(recent)} positive outcomes in the last year"))
        return out

