"""Signing in and out, and the home page of each role."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from api.console.pages import STAFF, need, redirect, render
from api.console.session import Viewer, session_cookie, session_token
from api.services import events, investors, keys, startups
from api.services.keys import Role
from api.state import Db, Service


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect to another host (browsers read "/\\x" as "//x").
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


@get("/", include_in_schema=False)
async def root() -> Redirect:
    return redirect("/console")


@get("/console/login", include_in_schema=False)
async def login_form(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    next_: Annotated[str | None, QueryParameter(name="next", max_length=500)] = None,
) -> Template:
    return render(request, viewer, "login.html", next=_safe_next(next_), errors={})


@post("/console/login", include_in_schema=False)
async def login(request: Request[Any, Any, Any], db: Db, service: Service, viewer: Viewer) -> Template | Redirect:
    form = await request.form()
    api_key = str(form.get("key") or "").strip()
    principal = await keys.authenticate(db, api_key=api_key, secret=service.settings.secret) if api_key else None
    target = _safe_next(str(form.get("next") or ""))
    if principal is None:
        return render(request, viewer, "login.html", next=target, errors={"key": "bad_key"})
    token = session_token(principal.key_id, service.settings.secret)
    return redirect(target, cookies=[session_cookie(request, token)])


@post("/console/logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    return redirect("/console/login", cookies=[session_cookie(request, None)])


@get("/console", include_in_schema=False)
async def home(request: Request[Any, Any, Any], db: Db, viewer: Viewer) -> Template | Redirect:
    who = need(viewer)
    if who.role is Role.BANK:
        return redirect("/console/bank")
    if who.role is Role.STARTUP:
        return redirect(f"/console/startups/{who.startup_id}")
    if who.role is Role.INVESTOR:
        return redirect("/console/me")
    need(who, *STAFF)
    counts = {
        "startups": (await startups.list_startups(db, limit=1)).total,
        "investors": (await investors.list_investors(db, bank=False, limit=1)).total,
        "banks": (await investors.list_investors(db, bank=True, limit=1)).total,
    }
    return render(request, viewer, "home.html", counts=counts, events=(await events.list_events(db))[:10])


HANDLERS = [root, login_form, login, logout, home]
