"""What the client raises: the server's error (status, message, the fields of a 422) or a failure to
reach it. Every exception is a :class:`DescentError`.

The server's error body is ``{"detail": ...}`` (``service.schemas.ErrorBody``): for a 422 a list of
:class:`~service.schemas.FieldError`, kept as :attr:`APIError.errors`; otherwise one message.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from service.schemas import ErrorBody, FieldError


class DescentError(Exception):
    """Base of every error the client raises."""


class ConnectionFailed(DescentError):
    """The server could not be reached, or the connection broke, on every try."""


class WaitTimeout(DescentError):
    """A job did not finish within the time given to wait for it."""


class APIError(DescentError):
    """The server answered with an error status.

    ``detail`` is the body's ``detail`` (a message, or the list of field errors of a 422), ``errors`` the
    field errors as :class:`FieldError`, ``response`` the ``httpx.Response``.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        try:
            self.detail: str | list[FieldError] = ErrorBody.model_validate_json(response.content).detail
        except ValidationError:  # not our error body (a proxy's page, say): keep its text
            self.detail = response.text or response.reason_phrase
        self.errors: list[FieldError] = [] if isinstance(self.detail, str) else self.detail
        super().__init__(f"{self.status_code} {response.reason_phrase}: {self.message}")

    @property
    def message(self) -> str:
        """One line: the server's message, or ``field.path: why`` for each field error."""
        if isinstance(self.detail, str):
            return self.detail
        return "; ".join(f"{_field_path(error.loc)}: {error.msg}" for error in self.detail)

    @property
    def retry_after(self) -> float | None:
        """The ``Retry-After`` the server asked for, in seconds."""
        return retry_after(self.response)


class BadRequest(APIError):
    """400: the body could not be parsed."""


class Unauthorized(APIError):
    """401: no API key, or not a valid one."""


class NotFound(APIError):
    """404: no such job or dataset (for this API key)."""


class Conflict(APIError):
    """409: the job is in the wrong state (no model yet, already finished)."""


class PayloadTooLarge(APIError):
    """413: a body or an upload over the server's cap."""


class UnsupportedMediaType(APIError):
    """415: the body was not sent as JSON."""


class ValidationFailed(APIError):
    """422: the request is invalid; :attr:`errors` names each field and why."""


class RateLimited(APIError):
    """429: over the submission or upload rate; :attr:`retry_after` says when to try again."""


class ServiceUnavailable(APIError):
    """503: Redis is unavailable or the queue is full; :attr:`retry_after` says when to try again."""


class StorageFull(APIError):
    """507: the server's Redis is at its memory cap and stored nothing; :attr:`retry_after` says when to
    try again (delete datasets you no longer need to make room)."""


class ServerError(APIError):
    """500 or another 5xx: the server failed (its log has the traceback)."""


BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
    503: ServiceUnavailable,
    507: StorageFull,
}


def error_for(response: httpx.Response) -> APIError:
    """The exception for an error response: the class of its status, else APIError or ServerError."""
    kind = BY_STATUS.get(response.status_code, ServerError if response.status_code >= 500 else APIError)
    return kind(response)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the delay form; an HTTP date counts as absent)."""
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def _field_path(loc: list[str | int]) -> str:
    """``["body", "optimizer", "beta1"]`` -> ``optimizer.beta1``; ``["query", "limit"]`` -> ``limit``."""
    steps = [str(step) for step in loc[1:]] or [str(step) for step in loc]
    return ".".join(steps)
