from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from api.schemas.common import HeadCount, Id, Label, LongText, Name, SmallCount, Title, Uscc, Version, Wan
from matcher.domain import IPKind, IPStatus, Stage


class IPAssetIn(Struct, forbid_unknown_fields=True):
    kind: IPKind
    status: IPStatus = IPStatus.GRANTED
    granted_on: date | None = None
    expires_on: date | None = None
    title: Title | None = None
    appraised_value_wan: Wan | None = None


class IPAssetRead(Struct):
    kind: str
    status: str
    granted_on: date | None
    expires_on: date | None
    title: str | None
    appraised_value_wan: float | None


IPAssets = Annotated[list[IPAssetIn], Meta(max_length=500)]
BankIds = Annotated[list[Id], Meta(max_length=200)]


class StartupCreate(Struct, forbid_unknown_fields=True):
    name: Name
    uscc: Uscc | None = None
    sector: Label | None = None
    sub_sector: Label | None = None
    stage: Stage | None = None
    founded_on: date | None = None
    city: Label | None = None
    region: Label | None = None
    employees: HeadCount | None = None
    rd_staff: HeadCount | None = None
    revenue_wan: Wan | None = None
    rd_expense_wan: Wan | None = None
    total_cost_wan: Wan | None = None
    total_assets_wan: Wan | None = None
    funding_ask_wan: Wan | None = None
    high_tech_enterprise: bool | None = None
    provincial_rd_center: bool | None = None
    national_award_5y: bool | None = None
    standards_led_5y: SmallCount | None = None
    credit_flags: SmallCount | None = None
    description: LongText | None = None
    ip_assets: IPAssets = msgspec.field(default_factory=list)
    consents: BankIds = msgspec.field(default_factory=list)


class StartupUpdate(Struct, forbid_unknown_fields=True):
    """Only the fields present change; ``version`` is the one the client read (stale → 409)."""

    version: Version
    name: Name | UnsetType = UNSET
    uscc: Uscc | UnsetType | None = UNSET
    sector: Label | UnsetType | None = UNSET
    sub_sector: Label | UnsetType | None = UNSET
    stage: Stage | UnsetType | None = UNSET
    founded_on: date | UnsetType | None = UNSET
    city: Label | UnsetType | None = UNSET
    region: Label | UnsetType | None = UNSET
    employees: HeadCount | UnsetType | None = UNSET
    rd_staff: HeadCount | UnsetType | None = UNSET
    revenue_wan: Wan | UnsetType | None = UNSET
    rd_expense_wan: Wan | UnsetType | None = UNSET
    total_cost_wan: Wan | UnsetType | None = UNSET
    total_assets_wan: Wan | UnsetType | None = UNSET
    funding_ask_wan: Wan | UnsetType | None = UNSET
    high_tech_enterprise: bool | UnsetType | None = UNSET
    provincial_rd_center: bool | UnsetType | None = UNSET
    national_award_5y: bool | UnsetType | None = UNSET
    standards_led_5y: SmallCount | UnsetType | None = UNSET
    credit_flags: SmallCount | UnsetType | None = UNSET
    description: LongText | UnsetType | None = UNSET
    # When given, replaces the whole list of IP assets.
    ip_assets: IPAssets | UnsetType = UNSET


class StartupRead(Struct):
    startup_id: str
    name: str
    uscc: str | None
    sector: str | None
    sub_sector: str | None
    stage: str | None
    founded_on: date | None
    city: str | None
    region: str | None
    employees: int | None
    rd_staff: int | None
    revenue_wan: float | None
    rd_expense_wan: float | None
    total_cost_wan: float | None
    total_assets_wan: float | None
    funding_ask_wan: float | None
    high_tech_enterprise: bool | None
    provincial_rd_center: bool | None
    national_award_5y: bool | None
    standards_led_5y: int | None
    credit_flags: int | None
    description: str | None
    tech_sme_qualified: bool | None
    ip_assets: list[IPAssetRead]
    version: int
    created_at: datetime
    updated_at: datetime
    # Set when the profile was archived instead of deleted (it had history); archived ones are not listed.
    archived_at: datetime | None = None


class StartupRegistered(Struct):
    """The response to a registration: the profile and the startup's own API key, shown only here."""

    startup: StartupRead
    key_id: str
    api_key: str


class StartupPage(Struct):
    items: list[StartupRead]
    total: int
    limit: int
    offset: int


class ConsentsPut(Struct, forbid_unknown_fields=True):
    bank_ids: BankIds


class ConsentRecord(Struct):
    """One grant: in force from ``granted_on`` until ``revoked_on`` (null: still granted)."""

    bank_id: str
    bank_name: str
    granted_on: date
    revoked_on: date | None


class ConsentsRead(Struct):
    """The banks whose consent holds today, and every grant and revocation so far."""

    startup_id: str
    bank_ids: list[str]
    history: list[ConsentRecord]


class AssessmentSummary(Struct):
    """What a startup sees of an assessment of itself: who, which product, when, and the outcome."""

    assessment_id: int
    bank_id: str
    bank_name: str
    product_id: str
    eligible: bool
    created_at: datetime
