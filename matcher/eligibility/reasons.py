"""Reason codes: stable codes with Chinese and English texts, and how a decision's reasons are ordered.

A decision lists at most four reasons, by impact. A refused firm's reasons start with its failed hard
conditions (in the order the rules check them, so the first failed condition is always the first
reason), then the factors that lowered it; an eligible firm's start with what made it eligible (the
factors that raised it), then what held it back. Factors are ranked by the knowledge-value points they
cost or earned (indicator weight × shortfall or × points), so the ranking follows the policy. Their direction
also agrees with the PD model by construction: the features behind them (valid invention patents,
R&D intensity, tech-staff share, credit flags) carry monotone constraints in ``pd_model``.

Codes are a public contract (the CLI writes them, banks file them): never rename one, only add.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from matcher.eligibility.policy import Policy, ProductRules


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    zh: str
    en: str


# Hard conditions in the order they are checked (the tech-SME ones first, as the method lists them).
HARD_CONDITIONS: tuple[str, ...] = (
    "STAFF_OVER_LIMIT",
    "REVENUE_OVER_LIMIT",
    "ASSETS_OVER_LIMIT",
    "ADVERSE_CREDIT",
    "NO_TECH_STAFF_SCORE",
    "TECH_SME_SCORE_LOW",
    "SECTOR_NOT_COVERED",
    "NO_GRADE",
    "GRADE_BELOW_MIN",
    "NO_PLEDGEABLE_IP",
    "ZERO_CREDIT_LIMIT",
    "LIMIT_BELOW_MINIMUM",
    "PD_ABOVE_THRESHOLD",
)
LOWERING: tuple[str, ...] = (
    "NO_VALID_IP",
    "NO_CLASS_I_IP",
    "LOW_RD_INTENSITY",
    "LOW_TECH_STAFF_RATIO",
    "LOW_REVENUE",
    "EARLY_STAGE",
    "ELEVATED_PD",
)
RAISING: tuple[str, ...] = (
    "VALID_INVENTION_PATENT",
    "HIGH_RD_INTENSITY",
    "HIGH_TECH_STAFF_RATIO",
    "STRONG_REVENUE",
    "RECOGNISED_INNOVATOR",
    "LOW_PD",
)
ALL_CODES: tuple[str, ...] = HARD_CONDITIONS + LOWERING + RAISING
MAX_REASONS = 4


def _pct(x: Decimal | float) -> str:
    return f"{Decimal(str(x)) * 100:f}".rstrip("0").rstrip(".") + "%"


def catalogue(policy: Policy, rules: ProductRules, *, min_grade: str | None = None) -> dict[str, Reason]:
    """Every code's texts, with the thresholds of this policy and product filled in."""
    t, f = policy.tech_sme, policy.factors
    rev, assets = f"{t.max_revenue_wan:f}", f"{t.max_total_assets_wan:f}"
    texts: dict[str, tuple[str, str]] = {
        "STAFF_OVER_LIMIT": (f"职工总数超过{t.max_employees}人", f"More than {t.max_employees} employees"),
        "REVENUE_OVER_LIMIT": (f"年销售收入超过{rev}万元", f"Annual sales above {rev}万 CNY"),
        "ASSETS_OVER_LIMIT": (f"资产总额超过{assets}万元", f"Total assets above {assets}万 CNY"),
        "ADVERSE_CREDIT": ("存在不良信用或合规记录", "Adverse credit or compliance records"),
        "NO_TECH_STAFF_SCORE": ("科技人员指标得分为0", "Tech-staff indicator scores 0"),
        "TECH_SME_SCORE_LOW": (
            f"科技型中小企业评价得分低于{t.min_total_score}分",
            f"Tech-SME evaluation score below {t.min_total_score}",
        ),
        "SECTOR_NOT_COVERED": ("所属行业不在该产品支持范围内", "Sector not covered by this product"),
        "NO_GRADE": ("知识价值评价未达到最低等级", "Knowledge-value index below the lowest grade"),
        "GRADE_BELOW_MIN": (
            f"知识价值等级低于产品要求的{min_grade or ''}级",
            f"Knowledge-value grade below the product's minimum {min_grade or ''}",
        ),
        "NO_PLEDGEABLE_IP": ("无可质押的有效知识产权", "No valid IP that can be pledged"),
        "ZERO_CREDIT_LIMIT": ("按政策测算的授信额度为0", "The credit limit under the policy works out to zero"),
        "LIMIT_BELOW_MINIMUM": (
            f"测算额度低于产品最低贷款额{rules.min_amount_wan:g}万",
            f"The computed limit is below the product's minimum loan of {rules.min_amount_wan:g} (10k CNY)",
        ),
        "PD_ABOVE_THRESHOLD": (
            f"预测违约概率高于产品阈值{_pct(rules.pd_threshold)}",
            f"Predicted default probability above the product threshold {_pct(rules.pd_threshold)}",
        ),
        "NO_VALID_IP": ("无有效知识产权", "No valid IP"),
        "NO_CLASS_I_IP": ("无有效I类知识产权（如发明专利）", "No valid class-I IP (e.g. invention patent)"),
        "LOW_RD_INTENSITY": (
            f"研发投入占比低于{_pct(f.low_rd_intensity_below)}",
            f"R&D intensity below {_pct(f.low_rd_intensity_below)}",
        ),
        "LOW_TECH_STAFF_RATIO": (
            f"科技人员占比低于{_pct(f.low_tech_staff_below)}",
            f"Tech staff below {_pct(f.low_tech_staff_below)} of employees",
        ),
        "LOW_REVENUE": (
            f"年营业收入低于{f.low_revenue_below_wan:g}万元",
            f"Annual revenue below {f.low_revenue_below_wan:g}万 CNY",
        ),
        "EARLY_STAGE": ("企业处于早期阶段", "Early-stage company"),
        "ELEVATED_PD": ("预测违约概率偏高", "Elevated predicted default probability"),
        "VALID_INVENTION_PATENT": ("拥有有效发明专利等I类知识产权", "Holds valid class-I IP such as invention patents"),
        "HIGH_RD_INTENSITY": (
            f"研发投入占比不低于{_pct(f.high_rd_intensity_from)}",
            f"R&D intensity at least {_pct(f.high_rd_intensity_from)}",
        ),
        "HIGH_TECH_STAFF_RATIO": (
            f"科技人员占比不低于{_pct(f.high_tech_staff_from)}",
            f"Tech staff at least {_pct(f.high_tech_staff_from)} of employees",
        ),
        "STRONG_REVENUE": (
            f"年营业收入不低于{f.high_revenue_from_wan:g}万元",
            f"Annual revenue at least {f.high_revenue_from_wan:g}万 CNY",
        ),
        "RECOGNISED_INNOVATOR": (
            "具备高新技术企业、省级研发机构、国家级奖励或主导标准等认定",
            "Recognised innovator (high-tech certificate, R&D centre, national award or standards led)",
        ),
        "LOW_PD": ("预测违约概率低", "Low predicted default probability"),
    }
    return {code: Reason(code, zh, en) for code, (zh, en) in texts.items()}


def order_codes(
    hard: dict[str, npt.NDArray[np.bool_]],
    lowering: dict[str, tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]],
    raising: dict[str, tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]],
    eligible: npt.NDArray[np.bool_],
) -> list[str]:
    """Per firm, at most ``MAX_REASONS`` codes ``;``-joined. A refused firm: its failed hard conditions
    in ``HARD_CONDITIONS`` order, then what lowered it, then what raised it. An eligible firm: what
    raised it, then what lowered it. Within a group factors go by weight, largest first (ties keep the
    catalogue order). Factors come as (fires, weight) arrays."""
    n = eligible.shape[0]
    codes: list[str] = []
    columns: list[npt.NDArray[np.float64]] = []
    for code in HARD_CONDITIONS:
        if code in hard:
            codes.append(code)
            columns.append(np.where(hard[code], float(len(codes)), np.inf))
    # Group offsets: lowering before raising for a refusal, raising first for an eligible firm.
    first, second = 1e3, 1e6
    for factors, order, offset in ((lowering, LOWERING, np.where(eligible, second, first)),
                                   (raising, RAISING, np.where(eligible, first, second))):
        for code in order:
            if code in factors:
                fires, weight = factors[code]
                codes.append(code)
                columns.append(np.where(fires, offset + 1e2 - np.clip(weight, 0.0, 99.0), np.inf))
    if not codes:
        return [""] * n
    keys = np.column_stack(columns)
    order_ = np.argsort(keys, axis=1, kind="stable")[:, :MAX_REASONS]
    fired = np.isfinite(np.take_along_axis(keys, order_, axis=1))
    kept = np.where(fired, np.asarray(codes, dtype=object)[order_], "")
    return [";".join(filter(None, row)) for row in kept.tolist()]
