"""Rate limits on registration, shared by every process: Litestar's ``RateLimitMiddleware`` over a
Litestar store (Redis when ``REDIS_URL`` is set, in memory otherwise), keyed by the client's address.

Two limits apply to ``POST /api/startups``: anonymous callers are limited per client address
(``registration_rate_per_minute``), staff keys per key (``key_rate_per_minute``), so an organiser
registering a list of startups is not stopped by the public limit and the public is not helped by it.
The client address is the peer's, unless the peer is one of ``TRUSTED_PROXIES``: only then is
``X-Forwarded-For`` read, from the right, skipping the trusted proxies themselves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache
from time import time
from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, CacheObject, RateLimitConfig, RateLimitMiddleware
from litestar.serialization import decode_json
from litestar.stores.redis import RedisStore
from litestar.types import Receive, Scope, Send

from api.services.keys import Principal
from api.state import ServiceState

# Handlers marked ``opt={REGISTRATION: True}`` are counted.
REGISTRATION = "registration"
RATE_LIMIT_STORE = "rate_limit"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Litestar's window and history format, updated atomically in Redis: its middleware does a read and a
# write under a lock of one process, which N processes would pass N times.
_WINDOW = """
local now, duration, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local raw = redis.call('GET', KEYS[1])
local state = nil
if raw then state = cjson.decode(raw) end
if (not state) or state['reset'] <= now then state = {history = {}, reset = now + duration} end
if #state['history'] >= limit then return {cjson.encode(state), 1} end
table.insert(state['history'], 1, now)
local encoded = cjson.encode(state)
redis.call('SET', KEYS[1], encoded, 'EX', duration)
return {encoded, 0}
"""


@lru_cache(maxsize=64)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, proxies: tuple[str, ...]) -> str:
    """The address a request comes from: the peer, or, behind trusted proxies, the first untrusted
    address of ``X-Forwarded-For`` read from the right (the part a client cannot forge)."""
    address = peer or "unknown"
    networks = trusted_networks(proxies)
    if not networks or not forwarded_for or not _is_trusted(address, networks):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _is_trusted(hop, networks):
            return hop
        address = hop
    return address


def request_client(request: Request[Any, Any, Any]) -> str:
    settings = ServiceState.of(request.app).settings
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies)


def _staff_key(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) and user.is_staff else None


def _is_registration(request: Request[Any, Any, Any]) -> bool:
    return bool(request.scope["route_handler"].opt.get(REGISTRATION))


async def _anonymous_registration(request: Request[Any, Any, Any]) -> bool:
    return _is_registration(request) and _staff_key(request) is None


async def _staff_registration(request: Request[Any, Any, Any]) -> bool:
    return _is_registration(request) and _staff_key(request) is not None


def _by_address(request: Request[Any, Any, Any]) -> str:
    return "registration:" + request_client(request)


def _by_key(request: Request[Any, Any, Any]) -> str:
    principal = _staff_key(request)
    return "key:" + (principal.key_id if principal else "none")


class SharedRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's middleware, with the window updated in one atomic step when the store is Redis."""

    _script: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        store = self.config.get_store_from_app(app)
        if not isinstance(store, RedisStore):
            await super().__call__(scope, receive, send)
            return
        request: Request[Any, Any, Any] = app.request_class(scope)
        if await self.should_check_request(request=request):
            prefix = f"{store.namespace}:" if store.namespace else ""
            if self._script is None:
                self._script = store._redis.register_script(_WINDOW)  # the store's own client
            raw, blocked = await self._script(
                keys=[prefix + self.cache_key_from_request(request)],
                args=[int(time()), DURATION_VALUES[self.unit], self.max_requests],
            )
            cache_object = CacheObject(**decode_json(raw))
            if isinstance(cache_object.history, dict):  # cjson encodes an empty table as an object
                cache_object.history = []
            if blocked:
                headers = self.create_response_headers(cache_object=cache_object)
                headers["Retry-After"] = str(max(1, cache_object.reset - int(time())))
                raise TooManyRequestsException(
                    detail=f"at most {self.max_requests} registrations per {self.unit}", headers=headers
                )
            send = self.create_send_wrapper(send=send, cache_object=cache_object)
        await self.app(scope, receive, send)

    async def retrieve_cached_history(self, key: str, store: Any) -> CacheObject:
        cache_object = await super().retrieve_cached_history(key, store)
        if len(cache_object.history) >= self.max_requests:
            # Litestar's own refusal carries no Retry-After; say when the window reopens.
            headers = self.create_response_headers(cache_object=cache_object)
            headers["Retry-After"] = str(max(1, cache_object.reset - int(time())))
            raise TooManyRequestsException(
                detail=f"at most {self.max_requests} registrations per {self.unit}", headers=headers
            )
        return cache_object


def registration_limits(*, anonymous_per_minute: int, staff_per_minute: int) -> list[Any]:
    """The two limits of ``POST /api/startups`` as middleware (after authentication, which names staff)."""
    configs = (
        RateLimitConfig(
            rate_limit=("minute", anonymous_per_minute),
            identifier_for_request=_by_address,
            check_throttle_handler=_anonymous_registration,
            store=RATE_LIMIT_STORE,
            middleware_class=SharedRateLimitMiddleware,
        ),
        RateLimitConfig(
            rate_limit=("minute", staff_per_minute),
            identifier_for_request=_by_key,
            check_throttle_handler=_staff_registration,
            store=RATE_LIMIT_STORE,
            middleware_class=SharedRateLimitMiddleware,
        ),
    )
    return [config.middleware for config in configs]
