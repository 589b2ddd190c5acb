from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.controllers._params import EntityId, PageLimit, PageOffset, QueryId, TopK
from api.guards.auth import Caller, staff_only, staff_or_investor
from api.schemas.investors import (
    BankCreate,
    InvestorCreate,
    InvestorPage,
    InvestorRead,
    InvestorUpdate,
    ProductCreate,
    ProductRead,
    ProductUpdate,
)
from api.schemas.ranking import MatchList
from api.services import investors, matches
from api.services.keys import Principal, Role
from api.state import Db, Service
from matcher.domain import InvestorKind


class InvestorController(Controller):
    """Investors other than banks: organisers and admins manage them; an investor key reads and edits
    its own institution's profile (its preferences: sectors, stages, regions, ticket range)."""

    path = "/api/investors"
    tags = ("investors",)

    @post("", status_code=HTTP_201_CREATED, guards=[staff_only])
    async def create(self, data: JSONBody[InvestorCreate], db: Db, service: Service) -> InvestorRead:
        created = await investors.create_investor(db, body=data)
        service.matches.roster_changed()  # a candidate in startups' lists from the next request on
        return created

    @get("", guards=[staff_only])
    async def list_investors(
        self, db: Db, kind: FromQuery[InvestorKind | None] = None, limit: PageLimit = 50, offset: PageOffset = 0
    ) -> InvestorPage:
        return await investors.list_investors(
            db, bank=False, kind=kind.value if kind else None, limit=limit, offset=offset
        )

    @get("/{investor_id:str}", guards=[staff_or_investor])
    async def get_investor(self, investor_id: EntityId, db: Db, principal: Caller) -> InvestorRead:
        principal.require_investor_access(investor_id)
        return await investors.get_investor(db, investor_id=investor_id, bank=None)

    @patch("/{investor_id:str}", guards=[staff_or_investor])
    async def update(
        self, investor_id: EntityId, data: JSONBody[InvestorUpdate], db: Db, principal: Caller
    ) -> InvestorRead:
        principal.require_investor_access(investor_id)
        return await investors.update_investor(db, investor_id=investor_id, body=data, bank=False)

    @delete("/{investor_id:str}", guards=[staff_only])
    async def remove(self, investor_id: EntityId, db: Db, service: Service) -> None:
        await investors.delete_investor(db, investor_id=investor_id, bank=False)
        service.matches.roster_changed()

    @get(
        "/{investor_id:str}/matches",
        summary="Ranked startups for an investor or bank, with reasons (an investor key: its own)",
        guards=[staff_or_investor],
    )
    async def matches(
        self,
        investor_id: EntityId,
        service: Service,
        principal: Caller,
        k: TopK = 10,
    ) -> MatchList:
        principal.require_investor_access(investor_id)
        return await matches.for_investor(service.sessions, service.models, service.matches,
                                          investor_id=investor_id, k=k)


class BankController(Controller):
    """Banks: investors of kind ``bank`` (organisers and admins)."""

    path = "/api/banks"
    tags = ("banks",)

    @post("", status_code=HTTP_201_CREATED, guards=[staff_only])
    async def create(self, data: JSONBody[BankCreate], db: Db, service: Service) -> InvestorRead:
        created = await investors.create_investor(db, body=data)
        service.matches.roster_changed()  # a candidate in startups' lists from the next request on
        return created

    @get("", guards=[staff_only])
    async def list_banks(self, db: Db, limit: PageLimit = 50, offset: PageOffset = 0) -> InvestorPage:
        return await investors.list_investors(db, bank=True, limit=limit, offset=offset)

    @get("/{bank_id:str}", guards=[staff_or_investor])
    async def get_bank(self, bank_id: EntityId, db: Db, principal: Caller) -> InvestorRead:
        principal.require_investor_access(bank_id)
        return await investors.get_investor(db, investor_id=bank_id, bank=True)

    @patch("/{bank_id:str}", guards=[staff_or_investor])
    async def update(
        self, bank_id: EntityId, data: JSONBody[InvestorUpdate], db: Db, principal: Caller
    ) -> InvestorRead:
        principal.require_investor_access(bank_id)
        return await investors.update_investor(db, investor_id=bank_id, body=data, bank=True)

    @delete("/{bank_id:str}", guards=[staff_only])
    async def remove(self, bank_id: EntityId, db: Db, service: Service) -> None:
        await investors.delete_investor(db, investor_id=bank_id, bank=True)
        service.matches.roster_changed()


def _own_bank(principal: Principal) -> str | None:
    """The bank whose products the key is limited to: a bank's credit desk, or a bank's participant key."""
    if principal.role is Role.BANK:
        return principal.bank_id
    if principal.role is Role.INVESTOR:
        return principal.investor_id
    return None


class ProductController(Controller):
    """Loan products: organisers manage them; a bank lists and reads its own, and its participant
    (investor) key edits its own products' terms."""

    path = "/api/products"
    tags = ("products",)

    @get("", summary="Loan products (a bank key sees only its own bank's)")
    async def list_products(
        self, db: Db, principal: Caller, bank_id: QueryId = None
    ) -> list[ProductRead]:
        principal.require_role(Role.ADMIN, Role.ORGANISER, Role.BANK, Role.INVESTOR)
        own = _own_bank(principal) if not principal.is_staff else bank_id
        return await investors.list_products(db, bank_id=own)

    @get("/{product_id:str}")
    async def get_product(self, product_id: EntityId, db: Db, principal: Caller) -> ProductRead:
        principal.require_role(Role.ADMIN, Role.ORGANISER, Role.BANK, Role.INVESTOR)
        return await investors.get_product(db, product_id=product_id, bank_id=_own_bank(principal))

    @post("", status_code=HTTP_201_CREATED, guards=[staff_only])
    async def create(self, data: JSONBody[ProductCreate], db: Db) -> ProductRead:
        return await investors.create_product(db, body=data)

    @patch("/{product_id:str}", guards=[staff_or_investor])
    async def update(
        self, product_id: EntityId, data: JSONBody[ProductUpdate], db: Db, principal: Caller
    ) -> ProductRead:
        return await investors.update_product(
            db, product_id=product_id, body=data, bank_id=None if principal.is_staff else principal.investor_id
        )

    @delete("/{product_id:str}", guards=[staff_only])
    async def remove(self, product_id: EntityId, db: Db) -> None:
        await investors.delete_product(db, product_id=product_id)
