"""What every console page shares: who may see it, the navigation, the language, rendering and errors.

A form that fails validation is shown again with 200 and its errors next to the fields (as Django's admin
does): a browser reports any 4xx document as an error, and nothing went wrong with the request itself.

Adding a page: a handler in one of the page modules (or a new one listed in ``api.console.routers``) that
calls ``need(viewer, …)`` then the same service the API controller calls, a template extending
``base.html``, and, if it belongs in the menu, a ``NavItem`` in ``NAV``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from api.console.i18n import LANGS, stage_label, translator
from api.console.session import LANG_COOKIE
from api.errors import logger
from api.services.keys import Principal, Role
from matcher.errors import MatcherError, NotFoundError, PermissionDeniedError

STAFF = (Role.ADMIN, Role.ORGANISER)


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str  # a key of api.console.i18n.MESSAGES
    roles: frozenset[Role]


NAV: list[NavItem] = [
    NavItem("/console/startups", "startups", frozenset(STAFF)),
    NavItem("/console/investors", "investors", frozenset(STAFF)),
    NavItem("/console/import", "import", frozenset(STAFF)),
    NavItem("/console/events", "events", frozenset(STAFF)),
    NavItem("/console/results", "results_page", frozenset(STAFF)),
    NavItem("/console/models", "models", frozenset(STAFF)),
    NavItem("/console/bank", "bank_desk", frozenset({Role.BANK})),
    NavItem("/console/me", "my_roadshows", frozenset({Role.STARTUP, Role.INVESTOR})),
]


def need(viewer: Principal | None, *roles: Role) -> Principal:
    """The signed-in principal if it has one of ``roles`` (any role when none are given)."""
    if viewer is None:
        raise NotAuthorizedException("sign in first")
    if roles and viewer.role not in roles:
        raise PermissionDeniedError(f"this page needs one of the roles {', '.join(r.value for r in roles)}")
    return viewer


def language(request: Request[Any, Any, Any]) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return wanted if wanted in LANGS else "zh"


def _with_lang(request: Request[Any, Any, Any], lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(str(v))}" for k, v in params)


def render(
    request: Request[Any, Any, Any],
    viewer: Principal | None,
    template: str,
    *,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    lang = language(request)
    other = "en" if lang == "zh" else "zh"
    jar = list(cookies or [])
    if request.query_params.get("lang") in LANGS:
        jar.append(Cookie(key=LANG_COOKIE, value=lang, path="/", samesite="strict", max_age=365 * 24 * 3600))
    return Template(
        template_name=template,
        context={
            "t": translator(lang),
            "lang": lang,
            "other_lang_url": _with_lang(request, other),
            "viewer": viewer,
            "nav": [item for item in NAV if viewer is not None and viewer.role in item.roles],
            "path": request.url.path,
            "stage_label": lambda stage: stage_label(stage, lang),
            **context,
        },
        status_code=status_code,
        cookies=jar,
    )


def redirect(path: str, cookies: list[Cookie] | None = None) -> Redirect:
    """After a form: see the result at its own URL (so a reload never posts twice)."""
    return Redirect(path, status_code=HTTP_303_SEE_OTHER, cookies=cookies)


_FIELD = re.compile(r"at `\$\.?([^`]*)`")


def field_errors(exc: Exception, fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{form field: message}`` from a schema or domain error naming a field (``fields`` renames paths)."""
    message = str(exc)
    field = getattr(exc, "field", None)
    if field is None:
        found = _FIELD.search(message)
        field = found.group(1) if found else ""
        message = _FIELD.sub("", message).strip(" -")
    field = re.sub(r"\[\d+\].*$", "", str(field)) if field else "_form"
    field = (fields or {}).get(field, field)
    return {field: message}


def _error_page(request: Request[Any, Any, Any], status: int, key: str, detail: str) -> Response[Any]:
    viewer = getattr(request.state, "viewer", None)
    return render(request, viewer, "error.html", status_code=status, message_key=key, detail=detail)


def _not_signed_in(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/console/login?next={quote(target)}")


def _forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(request, 403, "forbidden", str(getattr(exc, "detail", exc)))


def _missing(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(request, 404, "not_found", str(getattr(exc, "detail", exc)))


def _bad_request(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(request, 400, "error", str(getattr(exc, "detail", exc)))


def _domain(request: Request[Any, Any, Any], exc: MatcherError) -> Response[Any]:
    from api.errors import domain_body

    status, body = domain_body(exc)
    return _error_page(request, status, "error", body["detail"])


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _error_page(request, exc.status_code, "error", exc.detail)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("console error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "error", "")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    NotAuthorizedException: _not_signed_in,
    PermissionDeniedException: _forbidden,
    PermissionDeniedError: _forbidden,
    NotFoundException: _missing,
    NotFoundError: _missing,
    ValidationException: _bad_request,
    MatcherError: _domain,
    HTTPException: _http,
    Exception: _internal,
}
