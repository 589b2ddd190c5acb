"""The one mapping from errors to HTTP: RFC 9457 problem-details bodies (application/problem+json).

Domain errors (``matcher.errors``) map by class; the framework's own validation and HTTP errors are
reshaped into the same body so a client parses one format. Bad input is always a 4xx naming the field:
400 when the request does not fit its schema (types, lengths, ranges, enums, unknown fields), 413 when
the body is too large, 422 when it fits but its content is wrong (a 统一社会信用代码 checksum, an unknown
referenced id, an infeasible event), 503 with ``Retry-After`` when the database cannot be reached. A
request never half-writes: each service call is one transaction. Nothing logged carries SQL parameters
(the engine hides them) or a key.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from api.schemas.common import ID_PATTERN, MULTI_LINE, ONE_LINE
from matcher.errors import (
    ConflictError,
    DataValidationError,
    InfeasibleError,
    InvalidInputError,
    MatcherError,
    NotFittedError,
    NotFoundError,
    PermissionDeniedError,
)

PROBLEM_JSON = "application/problem+json"


class StoredProblem(Exception):  # noqa: N818  # not an error of this request: one recorded earlier
    """A problem body recorded earlier (a failed job) returned as the response of this request."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail", ""))
        self.body = body


logger = logging.getLogger("api")

# (status, title, type slug) for each domain error class; the first matching class wins.
_DOMAIN: tuple[tuple[type[MatcherError], int, str, str], ...] = (
    (NotFoundError, HTTP_404_NOT_FOUND, "Not found", "not-found"),
    (ConflictError, HTTP_409_CONFLICT, "Conflict", "conflict"),
    (PermissionDeniedError, HTTP_403_FORBIDDEN, "Forbidden", "forbidden"),
    (InfeasibleError, HTTP_422_UNPROCESSABLE_ENTITY, "Infeasible", "infeasible"),
    (DataValidationError, HTTP_422_UNPROCESSABLE_ENTITY, "Invalid data", "invalid-data"),
    (InvalidInputError, HTTP_422_UNPROCESSABLE_ENTITY, "Invalid input", "invalid-input"),
    (NotFittedError, HTTP_503_SERVICE_UNAVAILABLE, "Model not available", "model-unavailable"),
)

_HTTP_TITLES = {
    400: ("Bad request", "bad-request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not found", "not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    409: ("Conflict", "conflict"),
    413: ("Request body too large", "body-too-large"),
    422: ("Invalid input", "invalid-input"),
    429: ("Too many requests", "rate-limited"),
    503: ("Service unavailable", "unavailable"),
}

# What a refused pattern means, in words (the raw expression is no help to a client).
_PATTERN_WORDS = {
    ONE_LINE: "must be one line without NUL or other control characters",
    MULTI_LINE: "must not contain NUL or control characters other than tab and line breaks",
    ID_PATTERN: "must be an id of letters, digits and _ . : - starting with a letter or digit",
}
_REGEX = re.compile(r"matching regex '(.*)'")


def problem_body(
    status: int,
    title: str,
    slug: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"urn:roadshow:problem:{slug}", "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem(
    status: int,
    title: str,
    slug: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = problem_body(status, title, slug, detail, field=field, errors=errors)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_body(exc: MatcherError) -> tuple[int, dict[str, Any]]:
    """The status and problem body of a domain error (also stored on failed background jobs)."""
    status, title, slug = next(
        ((s, t, g) for cls, s, t, g in _DOMAIN if isinstance(exc, cls)),
        (HTTP_400_BAD_REQUEST, "Bad request", "bad-request"),
    )
    field = getattr(exc, "field", None)
    errors = [{"field": field, "message": str(exc)}] if field else None
    extra: dict[str, Any] = {}
    if isinstance(exc, InfeasibleError) and exc.conflicts:
        extra["conflicts"] = list(exc.conflicts)
    job_id = getattr(exc, "job_id", None)
    if isinstance(job_id, str):
        extra["job_id"] = job_id
    if isinstance(exc, DataValidationError):
        errors = [
            {"field": i.column, "file": i.file, "row": i.row, "message": i.message}
            for i in exc.issues
            if i.severity == "error"
        ][:100]
    return status, problem_body(status, title, slug, str(exc), field=field, errors=errors, extra=extra)


def domain_problem(exc: MatcherError) -> Response[dict[str, Any]]:
    status, body = domain_body(exc)
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


_MISSING = re.compile(r"missing required field `([^`]+)`")


def _validation_field(key: str | None, message: str) -> str | None:
    """Litestar reports msgspec paths as ``$.ip_assets[0].kind`` (or ``data`` for the body itself);
    clients want ``ip_assets[0].kind``, and for a missing field the missing field's name."""
    path = "" if key in (None, "", "data", "$") else str(key).removeprefix("$.").removeprefix("$")
    missing = _MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    return path or None


def _readable(message: str) -> str:
    found = _REGEX.search(message)
    if found is None:
        return message
    pattern = found.group(1).encode().decode("unicode_escape")
    words = _PATTERN_WORDS.get(pattern)
    return words if words is not None else message


def validation_problem(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                raw = str(item.get("message", exc.detail))
                field = _validation_field(item.get("key"), raw)
                message = _readable(raw)
                errors.append({"field": field, "message": message, "source": item.get("source")})
    field = errors[0]["field"] if errors else None
    detail = errors[0]["message"] if errors else exc.detail
    return problem(HTTP_400_BAD_REQUEST, "Invalid request", "validation", detail, field=field, errors=errors)


def http_problem(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    title, slug = _HTTP_TITLES.get(exc.status_code, ("Error", "error"))
    return problem(exc.status_code, title, slug, exc.detail, headers=exc.headers)


def matcher_problem(_: Request[Any, Any, Any], exc: MatcherError) -> Response[dict[str, Any]]:
    return domain_problem(exc)


def stored_problem(_: Request[Any, Any, Any], exc: StoredProblem) -> Response[dict[str, Any]]:
    return Response(exc.body, status_code=int(exc.body.get("status", 500)), media_type=PROBLEM_JSON)


def stale_problem(_: Request[Any, Any, Any], exc: StaleDataError) -> Response[dict[str, Any]]:
    return problem(
        HTTP_409_CONFLICT,
        "Conflict",
        "conflict",
        "the record was changed by someone else; reload and retry",
        field="version",
    )


def integrity_problem(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    # Services check uniqueness and references first; this catches the race between check and insert.
    return problem(HTTP_409_CONFLICT, "Conflict", "conflict", "the request conflicts with stored data")


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or is too busy (the request may succeed when retried)."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # asyncpg raises OSError (refused, unreachable host, unknown name) while connecting, unwrapped.
    return isinstance(exc, OSError) and exc.errno is not None and exc.filename is None


def _retry_after(request: Request[Any, Any, Any]) -> int:
    from api.state import ServiceState  # api.state imports the settings only; kept local to stay light

    try:
        return ServiceState.of(request.app).settings.retry_after_seconds
    except (KeyError, AttributeError):
        return 5


def unavailable_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    seconds = _retry_after(request)
    return problem(
        HTTP_503_SERVICE_UNAVAILABLE,
        "Service unavailable",
        "unavailable",
        f"the database is unavailable; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def data_problem(request: Request[Any, Any, Any], exc: DataError) -> Response[dict[str, Any]]:
    # The schemas keep values inside every column; this is the last line if one still does not fit.
    logger.warning("value refused by the database on %s %s", request.method, request.url.path)
    return problem(HTTP_400_BAD_REQUEST, "Bad request", "bad-request", "a value does not fit the database")


def internal_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if database_unavailable(exc):
        return unavailable_problem(request, exc)
    if isinstance(exc, RecursionError):
        return problem(HTTP_400_BAD_REQUEST, "Bad request", "bad-request", "the request is nested too deeply")
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "internal", "an unexpected error occurred")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ValidationException: validation_problem,
    HTTPException: http_problem,
    MatcherError: matcher_problem,
    StaleDataError: stale_problem,
    StoredProblem: stored_problem,
    IntegrityError: integrity_problem,
    DataError: data_problem,
    OperationalError: unavailable_problem,
    InterfaceError: unavailable_problem,
    PoolTimeoutError: unavailable_problem,
    Exception: internal_problem,
}
