"""Participants' pages (a startup key or an investor key): their own profile and preferences (a bank
also its products' terms), and per roadshow their agenda, availability, wishes, the requests they
received and the outcomes of their meetings; and the organiser's view of every wish, request and outcome
of a roadshow. Every form calls the service its API twin calls (``api.controllers.participants``), with
the API's own schema, so the console refuses exactly what the API refuses."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Redirect, Template

from api.console.pages import STAFF, field_errors, need, redirect, render
from api.console.session import Viewer
from api.controllers._params import EntityId
from api.schemas.events import AgendaRead
from api.schemas.investors import InvestorUpdate, ProductUpdate
from api.schemas.participants import AnswerPut, OutcomeCreate, WishesPut, WishLimitsPut
from api.services import events, investors, outcomes, participants
from api.services.keys import Principal, Role
from api.state import Db, Service
from matcher.domain import Stage
from matcher.errors import ConflictError, InvalidInputError
from matcher.outcomes import ABSENT, MEETING_OUTCOMES
from matcher.scheduling.wishes import WISH_KINDS

PARTICIPANT_ROLES = (Role.STARTUP, Role.INVESTOR)
# What a form shows next to its fields; a permission or a missing record is the error page's.
FormError = (InvalidInputError, ConflictError, msgspec.ValidationError)


def _text(form: Any, key: str) -> str:
    return str(form.get(key) or "").strip()


def _optional(form: Any, key: str) -> str | None:
    return _text(form, key) or None


def _labels(value: str) -> list[str]:
    """A list typed into one box: separated by commas, 、 or ；."""
    for sep in ("，", "、", "；", ";"):
        value = value.replace(sep, ",")
    return [v.strip() for v in value.split(",") if v.strip()]


async def _me_page(request: Request[Any, Any, Any], db: Any, who: Principal, **extra: Any) -> Template:
    me = await participants.me(db, principal=who)
    profile = products = None
    if who.role is Role.INVESTOR and who.investor_id:
        profile = await investors.get_investor(db, investor_id=who.investor_id, bank=None)
        if profile.kind == "bank":
            products = await investors.list_products(db, bank_id=who.investor_id)
    return render(request, who, "me.html", me=me, profile=profile, products=products,
                  stages=[s.value for s in Stage], **{"errors": {}, "saved": False, **extra})


@get("/console/me", include_in_schema=False)
async def me_page(request: Request[Any, Any, Any], db: Db, viewer: Viewer) -> Template:
    return await _me_page(request, db, need(viewer, *PARTICIPANT_ROLES))


@post("/console/me/preferences", include_in_schema=False)
async def preferences(request: Request[Any, Any, Any], db: Db, viewer: Viewer) -> Template:
    who = need(viewer, Role.INVESTOR)
    form = await request.form()
    try:
        raw: dict[str, Any] = {
            "version": int(_text(form, "version") or 0),
            "sectors": _labels(_text(form, "sectors")),
            "stages": [str(s) for s in form.getall("stages", [])],
        }
        for key in ("ticket_min_wan", "ticket_max_wan"):
            value = _text(form, key)
            raw[key] = float(value) if value else None
        body = msgspec.convert(raw, InvestorUpdate)
        profile = await investors.get_investor(db, investor_id=who.investor_id or "", bank=None)
        await investors.update_investor(db, investor_id=profile.investor_id, body=body, bank=profile.kind == "bank")
    except ValueError:
        return await _me_page(request, db, who, errors={"ticket_min_wan": "must be a number"})
    except FormError as exc:
        return await _me_page(request, db, who, errors=field_errors(exc))
    return await _me_page(request, db, who, saved=True)


@post("/console/me/products/{product_id:str}", include_in_schema=False)
async def product_terms(request: Request[Any, Any, Any], product_id: EntityId, db: Db, viewer: Viewer) -> Template:
    who = need(viewer, Role.INVESTOR)
    form = await request.form()
    try:
        raw: dict[str, Any] = {"version": int(_text(form, "version") or 0), "min_grade": _optional(form, "min_grade")}
        for key, kind in (("max_amount_wan", float), ("max_term_months", int)):
            value = _text(form, key)
            raw[key] = kind(value) if value else None
        body = msgspec.convert(raw, ProductUpdate)
        await investors.update_product(db, product_id=product_id, body=body, bank_id=who.investor_id)
    except ValueError:
        return await _me_page(request, db, who, errors={"max_amount_wan": "must be a number"})
    except FormError as exc:
        return await _me_page(request, db, who, errors=field_errors(exc))
    return await _me_page(request, db, who, saved=True)


async def _event_page(
    request: Request[Any, Any, Any], db: Any, who: Principal, event_id: str, **extra: Any
) -> Template:
    pid = who.participant_id or ""
    view = await participants.participant(db, principal=who, event_id=event_id, participant_id=pid)
    found = await events.scheduled(db, event_id=event_id)
    agenda = None
    if found.schedule is not None:
        result = await events.agenda(db, event_id=event_id, participant_id=pid, fmt="json")
        agenda = result if isinstance(result, AgendaRead) else None
    reports = await outcomes.list_outcomes(db, principal=who, event_id=event_id)
    mine = {w.investor_id if view.side == "startup" else w.startup_id: w.kind for w in view.wishes}
    return render(
        request, who, "my_event.html", view=view, agenda=agenda, mine=mine,
        reports={(r.startup_id, r.investor_id): r for r in reports},
        wish_kinds=WISH_KINDS, meeting_outcomes=MEETING_OUTCOMES, absent=ABSENT,
        **{"errors": {}, "saved": None, **extra},
    )


@get("/console/me/events/{event_id:str}", include_in_schema=False)
async def my_event(request: Request[Any, Any, Any], event_id: EntityId, db: Db, viewer: Viewer) -> Template:
    return await _event_page(request, db, need(viewer, *PARTICIPANT_ROLES), event_id)


@post("/console/me/events/{event_id:str}/availability", include_in_schema=False)
async def my_availability(
    request: Request[Any, Any, Any], event_id: EntityId, db: Db, viewer: Viewer
) -> Template | Redirect:
    who = need(viewer, *PARTICIPANT_ROLES)
    form = await request.form()
    try:
        await participants.set_availability(
            db, principal=who, event_id=event_id, participant_id=who.participant_id or "",
            available=[str(s) for s in form.getall("available", [])],
        )
    except FormError as exc:
        return await _event_page(request, db, who, event_id, errors=field_errors(exc))
    return redirect(f"/console/me/events/{event_id}?saved=availability")


@post("/console/me/events/{event_id:str}/wishes", include_in_schema=False)
async def my_wishes(request: Request[Any, Any, Any], event_id: EntityId, db: Db, viewer: Viewer) -> Template | Redirect:
    who = need(viewer, *PARTICIPANT_ROLES)
    form = await request.form()
    # One select per counterpart, named wish.<id>; empty = no wish.
    wishes = [
        {"counterpart_id": key.removeprefix("wish."), "kind": str(value)}
        for key, value in form.multi_items() if key.startswith("wish.") and value
    ]
    try:
        body = msgspec.convert({"wishes": wishes}, WishesPut)
        await participants.set_wishes(
            db, principal=who, event_id=event_id, participant_id=who.participant_id or "", wishes=body.wishes
        )
    except FormError as exc:
        return await _event_page(request, db, who, event_id, errors=field_errors(exc))
    return redirect(f"/console/me/events/{event_id}?saved=wishes")


@post("/console/me/events/{event_id:str}/requests/{counterpart_id:str}", include_in_schema=False)
async def my_answer(
    request: Request[Any, Any, Any], event_id: EntityId, counterpart_id: EntityId, db: Db, viewer: Viewer
) -> Template | Redirect:
    who = need(viewer, *PARTICIPANT_ROLES)
    form = await request.form()
    try:
        body = msgspec.convert({"answer": _text(form, "answer")}, AnswerPut)
        await participants.answer_request(
            db, principal=who, event_id=event_id, participant_id=who.participant_id or "",
            counterpart_id=counterpart_id, answer=body.answer,
        )
    except FormError as exc:
        return await _event_page(request, db, who, event_id, errors=field_errors(exc))
    return redirect(f"/console/me/events/{event_id}?saved=requests")


def outcome_body(form: Any, startup_id: str, investor_id: str) -> OutcomeCreate:
    """The outcome form as the API's body (empty fields left out; the API's validation)."""
    raw: dict[str, Any] = {"startup_id": startup_id, "investor_id": investor_id, "outcome": _text(form, "outcome")}
    for key in ("no_show", "on"):
        if value := _text(form, key):
            raw[key] = value
    if amount := _text(form, "amount_wan"):
        try:
            raw["amount_wan"] = float(amount)
        except ValueError:
            raw["amount_wan"] = amount  # refused by the schema, naming the field
    return msgspec.convert(raw, OutcomeCreate, strict=False)


@post("/console/me/events/{event_id:str}/outcomes", include_in_schema=False)
async def my_outcome(
    request: Request[Any, Any, Any], event_id: EntityId, db: Db, service: Service, viewer: Viewer
) -> Template | Redirect:
    who = need(viewer, *PARTICIPANT_ROLES)
    form = await request.form()
    me, other = who.participant_id or "", _text(form, "counterpart_id")
    pair = (me, other) if who.role is Role.STARTUP else (other, me)
    try:
        await outcomes.record(db, principal=who, event_id=event_id, items=[outcome_body(form, *pair)],
                              retrain=(service.queue, service.settings))
    except FormError as exc:
        return await _event_page(request, db, who, event_id, errors=field_errors(exc), error_pair=other)
    return redirect(f"/console/me/events/{event_id}?saved=outcome")


# --- the organiser's view -------------------------------------------------------------------------------


async def _organiser_page(
    request: Request[Any, Any, Any], db: Any, who: Principal, event_id: str, **extra: Any
) -> Template:
    event = await events.get_event(db, event_id=event_id)
    found = await events.scheduled(db, event_id=event_id)
    return render(
        request, who, "participation.html", event=event,
        problem=found.problem,
        wishes=await participants.all_wishes(db, event_id=event_id),
        limits=await participants.limits(db, event_id=event_id),
        reports=await outcomes.list_outcomes(db, principal=who, event_id=event_id, history=True),
        meeting_outcomes=MEETING_OUTCOMES, absent=ABSENT,
        **{"errors": {}, **extra},
    )


@get("/console/events/{event_id:str}/participation", include_in_schema=False)
async def participation(request: Request[Any, Any, Any], event_id: EntityId, db: Db, viewer: Viewer) -> Template:
    return await _organiser_page(request, db, need(viewer, *STAFF), event_id)


@post("/console/events/{event_id:str}/wish-limits", include_in_schema=False)
async def wish_limits(
    request: Request[Any, Any, Any], event_id: EntityId, db: Db, viewer: Viewer
) -> Template | Redirect:
    who = need(viewer, *STAFF)
    form = await request.form()
    raw: dict[str, Any] = {key: _text(form, key) for key in ("max_must", "max_wish", "max_no") if _text(form, key)}
    if closes := _text(form, "closes_at"):
        raw["closes_at"] = closes
    try:
        body = msgspec.convert(raw, WishLimitsPut, strict=False)
        await participants.set_limits(db, event_id=event_id, body=body)
    except FormError as exc:
        return await _organiser_page(request, db, who, event_id, errors=field_errors(exc))
    return redirect(f"/console/events/{event_id}/participation")


@post("/console/events/{event_id:str}/outcomes", include_in_schema=False)
async def organiser_outcome(
    request: Request[Any, Any, Any], event_id: EntityId, db: Db, service: Service, viewer: Viewer
) -> Template | Redirect:
    who = need(viewer, *STAFF)
    form = await request.form()
    try:
        body = outcome_body(form, _text(form, "startup_id"), _text(form, "investor_id"))
        await outcomes.record(db, principal=who, event_id=event_id, items=[body],
                              retrain=(service.queue, service.settings))
    except FormError as exc:
        return await _organiser_page(request, db, who, event_id, errors=field_errors(exc))
    return redirect(f"/console/events/{event_id}/participation")


HANDLERS = [
    me_page, preferences, product_terms, my_event, my_availability, my_wishes, my_answer, my_outcome,
    participation, wish_limits, organiser_outcome,
]
