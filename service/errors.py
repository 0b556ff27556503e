"""The service's exceptions and their mapping to HTTP, in one place.

Every error body is ``{"detail": ...}`` (``service.schemas.ErrorBody``): for a 422 a list of
``{"loc", "msg", "type"}`` naming each field (``loc`` is a path into the request, ``service.validation``),
for every other status one message. The statuses, each the one documented on the operations:

* 400: the body cannot be parsed (broken JSON or multipart), or a malformed ``Content-Length``;
* 401: no API key, or not a valid one (``service.auth``); 404: no such job or dataset for this owner;
* 409: the resource is in the wrong state (no model yet, already finished, an idempotent request in flight);
* 413: a body or upload over its cap (``service.limits``); 415: a JSON body sent as another media type;
* 422: well-formed input the service cannot use (a field's type or bound, a cap, a file's content);
* 429: over the submission or upload rate; 503: Redis unreachable, stuck past the client's timeout,
  loading its data or refusing writes, the queue full, or every upload parser busy, each with
  ``Retry-After``; 507: Redis is full (at its ``maxmemory``, with ``noeviction`` it refuses writes), with
  ``Retry-After``;
* 500: anything unexpected, with a generic message (the traceback goes to the log, never to the client).

The pure ASGI middlewares (``service.auth``, ``service.limits``) answer with :func:`error_response` too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import ResponseError as RedisResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import InvalidMembers, SpecRejected
from service.metrics import REDIS_ERRORS
from service.validation import field_errors, member_errors

log = logging.getLogger("descent.service")

RETRY_AFTER_SECONDS = 2

REDIS_UNAVAILABLE = ("LOADING", "MISCONF", "READONLY", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN")
"""Prefixes of Redis error replies that mean "not now" (loading its AOF, disk full, a replica)."""
REDIS_FULL = "command not allowed when used memory"
"""In Redis' refusal of a write at its maxmemory (redis-py's ``OutOfMemoryError``, or a script's error)."""
REDIS_FULL_RETRY_AFTER = 60
REDIS_FULL_DETAIL = (
    "the job store (Redis) is full: it is at its memory cap (maxmemory, DESCENT_REDIS_MAXMEMORY_BYTES for "
    "the embedded one) and refuses new data, so nothing was stored; delete datasets you no longer need "
    "(DELETE /datasets/{id}) or retry once finished jobs and datasets have expired"
)


def _retry_after(seconds: int) -> dict[str, str]:
    return {"Retry-After": str(max(1, seconds))}


class ServiceError(Exception):
    """Base class: an error with an HTTP status and a message a user understands."""

    status_code = 400

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFound(ServiceError):
    """No job or dataset with that id (for this owner)."""

    status_code = 404


class Conflict(ServiceError):
    """The resource is in the wrong state (no model yet, job already finished)."""

    status_code = 409


class PayloadTooLarge(ServiceError):
    """An upload or body over its cap in settings."""

    status_code = 413


class TooManyRequests(ServiceError):
    """Over the owner's submission rate; ``Retry-After`` says when the window frees up."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, _retry_after(retry_after))


class Unprocessable(ServiceError):
    """Well-formed input the service cannot use (a bad uploaded file): a 422 naming the field at ``loc``."""

    status_code = 422

    def __init__(self, detail: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(detail)
        self.detail = [{"loc": list(loc), "msg": detail, "type": "value_error"}]  # type: ignore[assignment]


class Unavailable(ServiceError):
    """A dependency (Redis, the workers) is not there; the client may retry."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail, _retry_after(retry_after))


def error_response(status: int, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    """The ``{"detail": ...}`` JSON response every error gets."""
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=status, headers=headers)


def redis_error_response(exc: RedisError) -> JSONResponse | None:
    """The answer to a Redis error: 503 when Redis is down, stuck or says "not now", 507 when it is full;
    None for any other (a bug: a 500)."""
    if isinstance(exc, RedisResponseError) and REDIS_FULL in str(exc):
        log.warning("Redis is full: %s", exc)
        REDIS_ERRORS.labels("OutOfMemory").inc()
        return error_response(507, REDIS_FULL_DETAIL, _retry_after(REDIS_FULL_RETRY_AFTER))
    down = isinstance(exc, RedisConnectionError | RedisTimeoutError)
    if down or (isinstance(exc, RedisResponseError) and str(exc).startswith(REDIS_UNAVAILABLE)):
        log.warning("Redis unavailable: %s", exc)
        REDIS_ERRORS.labels(type(exc).__name__).inc()
        return error_response(
            503, "the job store (Redis) is unavailable; retry shortly", _retry_after(RETRY_AFTER_SECONDS)
        )
    return None


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _unparsed_body(request: Request, errors: Sequence[dict]) -> JSONResponse | None:
    """400 for broken JSON, 415 for a body that is not declared JSON; None for a 422."""
    for error in errors:
        if error["type"] == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "JSON decode error")
            return error_response(
                400, f"the body is not valid JSON: {reason} at character {error['loc'][-1]}"
            )
        if (
            error["type"] == "model_attributes_type"
            and tuple(error["loc"]) == ("body",)
            and not _is_json(request)
        ):
            return error_response(415, "the body must be JSON, sent with Content-Type: application/json")
    return None


def _allowed_methods(request: Request) -> list[str]:
    """Every documented method at this path (Starlette's 405 names only the first matching route's)."""
    segments = request.url.path.rstrip("/").split("/")
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        parts = template.rstrip("/").split("/")
        if len(parts) == len(segments) and all(
            part == segment or (part.startswith("{") and segment != "")
            for part, segment in zip(parts, segments, strict=True)
        ):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception the service knows to its HTTP response."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(SpecRejected)
    async def _spec_rejected(_: Request, exc: SpecRejected) -> JSONResponse:
        return error_response(422, [{"loc": ["body", *exc.loc], "msg": exc.msg, "type": "value_error"}])

    @app.exception_handler(InvalidMembers)
    async def _invalid_members(_: Request, exc: InvalidMembers) -> JSONResponse:
        return error_response(422, member_errors(exc.errors))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return _unparsed_body(request, errors) or error_response(422, field_errors(errors, exc.body))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, exc.detail, headers)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    @app.exception_handler(RedisResponseError)
    async def _redis_error(request: Request, exc: RedisError) -> JSONResponse:
        return redis_error_response(exc) or await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal error")
