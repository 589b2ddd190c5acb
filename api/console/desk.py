"""The bank's credit desk (consenting startups, an assessment with the full decision, past decisions) and
the public self-registration of startups. Both call the services behind ``/api/eligibility`` and
``POST /api/startups``, with the same validation."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Template

from api.console.pages import field_errors, need, render
from api.console.session import Viewer
from api.guards.rate_limit import REGISTRATION
from api.schemas.startups import StartupCreate
from api.services import eligibility, investors, startups
from api.services.keys import Principal, Role
from api.state import Db, Service
from matcher.domain import Stage
from matcher.errors import InvalidInputError, MatcherError
from matcher.taxonomy import SECTORS

CONSENTING_SHOWN = 200


async def _desk(request: Request[Any, Any, Any], db: Any, viewer: Principal, **extra: Any) -> Template:
    bank_id = viewer.bank_id or ""
    consenting = await startups.list_startups(db, consented_to=bank_id, limit=CONSENTING_SHOWN)
    bank = await investors.get_investor(db, investor_id=bank_id, bank=True)
    return render(
        request, viewer, "bank.html", bank=bank, consenting=consenting,
        products=await investors.list_products(db, bank_id=bank_id),
        history=await eligibility.history(db, principal=viewer, startup_id=None, limit=50, offset=0),
        **{"decision": None, "errors": {}, **extra},
    )


@get("/console/bank", include_in_schema=False)
async def bank_desk(request: Request[Any, Any, Any], db: Db, viewer: Viewer) -> Template:
    return await _desk(request, db, need(viewer, Role.BANK))


@post("/console/bank/assess", include_in_schema=False)
async def assess(request: Request[Any, Any, Any], db: Db, service: Service, viewer: Viewer) -> Template:
    who = need(viewer, Role.BANK)
    form = await request.form()
    startup_id, product_id = str(form.get("startup_id") or ""), str(form.get("product_id") or "")
    try:
        if not startup_id or not product_id:
            raise InvalidInputError("choose a startup and a product", field="startup_id" if not startup_id else
                                    "product_id")
        decision = await eligibility.decide_one(
            db, service.models, principal=who, product_id=product_id, startup_id=startup_id
        )
    except MatcherError as exc:
        return await _desk(request, db, who, errors=field_errors(exc))
    return await _desk(request, db, who, decision=decision)


_BOOLEANS = ("high_tech_enterprise", "provincial_rd_center", "national_award_5y")
_INTEGERS = ("employees", "rd_staff", "standards_led_5y", "credit_flags")
_NUMBERS = ("revenue_wan", "rd_expense_wan", "total_cost_wan", "total_assets_wan", "funding_ask_wan")
_TEXT = ("name", "uscc", "sector", "sub_sector", "stage", "founded_on", "city", "region", "description")


def registration_body(form: FormMultiDict) -> dict[str, Any]:
    """The form as a ``StartupCreate`` body: empty fields left out, numbers converted (or reported)."""
    raw: dict[str, Any] = {}
    for key in _TEXT:
        value = str(form.get(key) or "").strip()
        if value:
            raw[key] = value
    for key, kind in [*((k, int) for k in _INTEGERS), *((k, float) for k in _NUMBERS)]:
        value = str(form.get(key) or "").strip()
        if value:
            try:
                raw[key] = kind(value)
            except ValueError:
                raise InvalidInputError("must be a number", field=key) from None
    for key in _BOOLEANS:
        if form.get(key):
            raw[key] = True
    raw["consents"] = [str(b) for b in form.getall("consents", [])]
    return raw


async def _banks(db: Any) -> list[Any]:
    return (await investors.list_investors(db, bank=True, limit=500)).items


@get("/register", include_in_schema=False)
async def register_form(request: Request[Any, Any, Any], db: Db, viewer: Viewer) -> Template:
    return render(request, viewer, "register.html", values={}, errors={}, banks=await _banks(db),
                  sectors=[s.zh for s in SECTORS], stages=[s.value for s in Stage], registered=None)


@post("/register", include_in_schema=False, opt={REGISTRATION: True})
async def register(request: Request[Any, Any, Any], db: Db, service: Service, viewer: Viewer) -> Response[Any]:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in form}
    try:
        body = msgspec.convert(registration_body(form), StartupCreate)
        registered = await startups.register(db, body=body, secret=service.settings.secret)
    except (MatcherError, msgspec.ValidationError) as exc:
        return render(request, viewer, "register.html", values=values, errors=field_errors(exc),
                      banks=await _banks(db), sectors=[s.zh for s in SECTORS], stages=[s.value for s in Stage],
                      chosen_banks={str(b) for b in form.getall("consents", [])}, registered=None)
    page = render(request, viewer, "register.html", values={}, errors={}, banks=[], sectors=[], stages=[],
                  registered=registered)
    page.headers["Cache-Control"] = "no-store"  # the page carries the key
    return page


HANDLERS = [bank_desk, assess, register_form, register]
