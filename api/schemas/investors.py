from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from api.schemas.common import Grade, Id, Label, LongText, Months, Name, Version, Wan
from matcher.domain import InvestorKind, ProductKind, Stage

Labels = Annotated[list[Label], Meta(max_length=50)]
Stages = Annotated[list[Stage], Meta(max_length=len(Stage))]


class _InstitutionCreate(Struct, forbid_unknown_fields=True):
    """The fields an investor and a bank share when created."""

    name: Name
    investor_id: Id | None = None
    sectors: Labels = msgspec.field(default_factory=list)
    stages: Stages = msgspec.field(default_factory=list)
    regions: Labels = msgspec.field(default_factory=list)
    ticket_min_wan: Wan | None = None
    ticket_max_wan: Wan | None = None
    description: LongText | None = None


class InvestorCreate(_InstitutionCreate, forbid_unknown_fields=True):
    kind: InvestorKind = InvestorKind.OTHER


class BankCreate(_InstitutionCreate, forbid_unknown_fields=True):
    """A bank is an investor of kind ``bank``; the kind is implied."""


class InvestorUpdate(Struct, forbid_unknown_fields=True):
    version: Version
    name: Name | UnsetType = UNSET
    sectors: Labels | UnsetType = UNSET
    stages: Stages | UnsetType = UNSET
    regions: Labels | UnsetType = UNSET
    ticket_min_wan: Wan | UnsetType | None = UNSET
    ticket_max_wan: Wan | UnsetType | None = UNSET
    description: LongText | UnsetType | None = UNSET


class InvestorRead(Struct):
    investor_id: str
    name: str
    kind: str
    sectors: list[str]
    stages: list[str]
    regions: list[str]
    ticket_min_wan: float | None
    ticket_max_wan: float | None
    description: str | None
    version: int
    created_at: datetime
    # Set when the record was archived instead of deleted (it had history); archived ones are not listed.
    archived_at: datetime | None = None


class InvestorPage(Struct):
    items: list[InvestorRead]
    total: int
    limit: int
    offset: int


class ProductCreate(Struct, forbid_unknown_fields=True):
    bank_id: Id
    kind: ProductKind
    product_id: Id | None = None
    name: Name | None = None
    max_amount_wan: Wan | None = None
    max_term_months: Months | None = None
    min_grade: Grade | None = None
    sectors: Labels = msgspec.field(default_factory=list)


class ProductUpdate(Struct, forbid_unknown_fields=True):
    version: Version
    kind: ProductKind | UnsetType = UNSET
    name: Name | UnsetType | None = UNSET
    max_amount_wan: Wan | UnsetType | None = UNSET
    max_term_months: Months | UnsetType | None = UNSET
    min_grade: Grade | UnsetType | None = UNSET
    sectors: Labels | UnsetType = UNSET


class ProductRead(Struct):
    product_id: str
    bank_id: str
    kind: str
    name: str | None
    max_amount_wan: float | None
    max_term_months: int | None
    min_grade: str | None
    sectors: list[str]
    version: int
