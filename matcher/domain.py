"""Typed domain records. Amounts are in 万元 (10,000 CNY); dates are ``datetime.date``.

The batch path works on polars frames (see ``matcher.io``); these records are the row-level view used
by the API and the single-firm eligibility path. A roadshow to schedule (``event.json``) is
``matcher.scheduling.EventProblem``, with its slots as datetimes and every default resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Stage(StrEnum):
    IDEA = "idea"
    SEED = "seed"
    ANGEL = "angel"
    PRE_A = "pre_a"
    A = "a"
    B = "b"
    C = "c"
    D_PLUS = "d_plus"
    PRE_IPO = "pre_ipo"
    PUBLIC = "public"

    @property
    def ordinal(self) -> int:
        return STAGE_ORDER.index(self)


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

STAGE_LABELS_ZH: dict[Stage, str] = {
    Stage.IDEA: "创意期", Stage.SEED: "种子轮", Stage.ANGEL: "天使轮", Stage.PRE_A: "Pre-A轮",
    Stage.A: "A轮", Stage.B: "B轮", Stage.C: "C轮", Stage.D_PLUS: "D轮及以后",
    Stage.PRE_IPO: "Pre-IPO", Stage.PUBLIC: "已上市",
}


# How real files spell the stages besides the contract's values: Chinese and English round names. Read
# through ``matcher.io``, which compares them case-, space- and punctuation-blind and without 轮/round/
# series/融资, so "A轮", "Series A" and "a" are one stage. Round types that are not a stage (战略投资, 并购)
# are not aliases: they stay errors.
STAGE_ALIASES: dict[Stage, tuple[str, ...]] = {
    Stage.IDEA: ("创意期", "创意", "概念期", "concept"),
    Stage.SEED: ("种子轮", "种子"),
    Stage.ANGEL: ("天使轮", "天使"),
    Stage.PRE_A: ("Pre-A轮", "Pre-A+"),
    Stage.A: ("A轮", "A+轮", "Series A"),
    Stage.B: ("B轮", "B+轮", "Series B"),
    Stage.C: ("C轮", "C+轮", "Series C"),
    Stage.D_PLUS: ("D轮", "D+轮", "E轮", "F轮", "G轮", "D轮及以后", "Series D", "Series E", "Series F"),
    Stage.PRE_IPO: ("Pre-IPO",),
    Stage.PUBLIC: ("IPO", "上市", "已上市", "IPO上市"),
}


class IPKind(StrEnum):
    INVENTION_PATENT = "invention_patent"
    UTILITY_MODEL = "utility_model"
    DESIGN_PATENT = "design_patent"
    SOFTWARE_COPYRIGHT = "software_copyright"
    TRADEMARK = "trademark"
    IC_LAYOUT = "ic_layout"
    PLANT_VARIETY = "plant_variety"
    NEW_DRUG = "new_drug"


# 国科发政〔2017〕115号: class I and class II IP; trademarks count for neither.
IP_CLASS_I: frozenset[IPKind] = frozenset(
    {IPKind.INVENTION_PATENT, IPKind.IC_LAYOUT, IPKind.PLANT_VARIETY, IPKind.NEW_DRUG}
)
IP_CLASS_II: frozenset[IPKind] = frozenset(
    {IPKind.UTILITY_MODEL, IPKind.DESIGN_PATENT, IPKind.SOFTWARE_COPYRIGHT}
)


class IPStatus(StrEnum):
    GRANTED = "granted"
    PENDING = "pending"
    EXPIRED = "expired"
    INVALID = "invalid"


class InvestorKind(StrEnum):
    VC = "vc"
    PE = "pe"
    ANGEL = "angel"
    GUIDANCE_FUND = "guidance_fund"
    CVC = "cvc"
    BANK = "bank"
    OTHER = "other"


# The same for investors.csv's kind: the names funds and banks go by in Chinese and English lists.
INVESTOR_KIND_ALIASES: dict[InvestorKind, tuple[str, ...]] = {
    InvestorKind.VC: ("风险投资", "风投", "创投", "创业投资", "venture capital", "venture"),
    InvestorKind.PE: ("私募股权", "私募", "private equity"),
    InvestorKind.ANGEL: ("天使", "天使投资", "天使投资人", "个人投资者", "angel investor", "individual"),
    InvestorKind.GUIDANCE_FUND: ("引导基金", "政府引导基金", "政府投资基金", "产业引导基金", "guidance fund",
                                 "government fund"),
    InvestorKind.CVC: ("企业风投", "战略投资者", "产业资本", "corporate venture capital", "corporate"),
    InvestorKind.BANK: ("银行", "商业银行"),
    InvestorKind.OTHER: ("其他",),
}


class Outcome(StrEnum):
    REQUESTED = "requested"
    MET = "met"
    DECLINED = "declined"
    INTERESTED = "interested"
    INTENT_SIGNED = "intent_signed"
    INVESTED = "invested"

    @property
    def strength(self) -> int:
        return OUTCOME_STRENGTH[self]

    @property
    def is_positive(self) -> bool:
        """Relevant for evaluation: ``interested`` or stronger."""
        return self.strength >= OUTCOME_STRENGTH[Outcome.INTERESTED]


# Graded relevance used for training weights and NDCG gains; declined is an explicit negative.
OUTCOME_STRENGTH: dict[Outcome, int] = {
    Outcome.DECLINED: -1,
    Outcome.REQUESTED: 0,
    Outcome.MET: 1,
    Outcome.INTERESTED: 2,
    Outcome.INTENT_SIGNED: 3,
    Outcome.INVESTED: 4,
}


class ProductKind(StrEnum):
    KNOWLEDGE_VALUE_CREDIT = "knowledge_value_credit"
    IP_PLEDGE = "ip_pledge"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class IPAsset:
    startup_id: str
    kind: IPKind
    status: IPStatus = IPStatus.GRANTED
    granted_on: date | None = None
    expires_on: date | None = None
    title: str | None = None
    appraised_value_wan: float | None = None


@dataclass(frozen=True, slots=True)
class Startup:
    startup_id: str
    name: str
    uscc: str | None = None
    sector: str | None = None
    sub_sector: str | None = None
    stage: Stage | None = None
    founded_on: date | None = None
    city: str | None = None
    region: str | None = None
    employees: int | None = None
    rd_staff: int | None = None
    revenue_wan: float | None = None
    rd_expense_wan: float | None = None
    total_cost_wan: float | None = None
    total_assets_wan: float | None = None
    funding_ask_wan: float | None = None
    high_tech_enterprise: bool | None = None
    provincial_rd_center: bool | None = None
    national_award_5y: bool | None = None
    standards_led_5y: int | None = None
    credit_flags: int | None = None
    description: str | None = None
    ip_assets: tuple[IPAsset, ...] = ()


@dataclass(frozen=True, slots=True)
class Investor:
    investor_id: str
    name: str
    kind: InvestorKind = InvestorKind.OTHER
    sectors: tuple[str, ...] = ()
    stages: tuple[Stage, ...] = ()
    regions: tuple[str, ...] = ()
    ticket_min_wan: float | None = None
    ticket_max_wan: float | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LoanProduct:
    product_id: str
    bank_id: str
    kind: ProductKind
    name: str | None = None
    max_amount_wan: float | None = None
    max_term_months: int | None = None
    min_grade: str | None = None
    sectors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Interaction:
    startup_id: str
    investor_id: str
    occurred_on: date
    outcome: Outcome
    stage: Stage | None = None
    amount_wan: float | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Loan:
    loan_id: str
    startup_id: str
    issued_on: date
    bank_id: str | None = None
    product_kind: ProductKind | None = None
    amount_wan: float | None = None
    term_months: int | None = None
    defaulted: bool | None = None
