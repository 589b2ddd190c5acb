"""``Authorization: Bearer <key>`` → a ``Principal`` on ``request.user``; role guards for controllers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from litestar.params import SkipValidation

from api.services.keys import Principal, Role, authenticate
from api.state import ServiceState

# Handlers marked with this opt key (``opt={NO_AUTH: True}``) are public.
NO_AUTH = "no_auth"


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header:
            if connection.scope["route_handler"].opt.get(NO_AUTH):
                # A public endpoint called without a key; one called with a key knows who calls.
                return AuthenticationResult(user=None, auth=None)
            raise NotAuthorizedException("send an API key as 'Authorization: Bearer <key>'")
        scheme, _, api_key = header.partition(" ")
        if scheme.lower() != "bearer" or not api_key.strip():
            raise NotAuthorizedException("the Authorization header must be 'Bearer <key>'")
        state = ServiceState.of(connection.app)
        principal = await state.principals.get(api_key.strip(), state)
        if principal is None:
            raise NotAuthorizedException("unknown or revoked API key")
        return AuthenticationResult(user=principal, auth=principal.key_id)


class PrincipalCache:
    """Looks keys up in the database, remembering the answer for a short time.

    The cache keeps the key lookup off the hot path of read endpoints; a revoked key stops working
    within ``ttl_seconds`` in every process (``invalidate`` makes it immediate in this one).
    """

    def __init__(self, ttl_seconds: float = 2.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    async def get(self, api_key: str, state: ServiceState) -> Principal | None:
        now = time.monotonic()
        hit = self._entries.get(api_key)
        if hit is not None and now - hit[0] < self.ttl_seconds:
            return hit[1]
        async with state.sessions() as session:
            principal = await authenticate(session, api_key=api_key, secret=state.settings.secret)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[api_key] = (now, principal)
        return principal

    def invalidate(self) -> None:
        self._entries.clear()


def authentication_middleware() -> DefineMiddleware:
    return DefineMiddleware(
        ApiKeyAuthentication,
        exclude=["^/health$", "^/schema"],
        exclude_http_methods=["OPTIONS"],
    )


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("this endpoint needs an API key")
    return user


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The ``principal`` dependency of handlers behind authentication."""
    return principal_of(request)


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def roles(*allowed: Role) -> Guard:
    """A guard admitting only keys with one of the ``allowed`` roles."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal_of(connection).require_role(*allowed)

    return guard


staff_only = roles(Role.ADMIN, Role.ORGANISER)
bank_only = roles(Role.BANK)
staff_or_investor = roles(Role.ADMIN, Role.ORGANISER, Role.INVESTOR)
staff_or_participant = roles(Role.ADMIN, Role.ORGANISER, Role.STARTUP, Role.INVESTOR)


Caller = NamedDependency[SkipValidation[Principal]]
