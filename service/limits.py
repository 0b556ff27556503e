"""What a client may send: request body caps (a pure ASGI middleware), job submissions and dataset
uploads per owner per minute, and the queue's depth.

Body caps, enforced before (and while) the body is read:

* A ``Content-Length`` over the cap is a 413 at once: not one byte of the body is read.
* A body without one (chunked) is counted as it streams in and cut at the cap: the app's read raises a
  413 the moment the count passes it, so at most the cap (plus one chunk) is ever buffered.
* A JSON body (every route but the upload) is also counted in values as it streams in: every number of
  an array is followed by a comma or closes it, so numbers ≤ commas + ``[`` (``bytes.count``, C speed).
  Past ``settings.max_inline_values`` + :data:`STRUCTURE_VALUES` (the rest of a spec or an experiment),
  the read raises a 413 naming ``max_inline_values``: inline data and predict inputs are refused before
  the body is parsed into Python objects (each of which costs about 30 bytes per number).

The byte cap is ``settings.max_upload_bytes`` plus room for the multipart envelope on ``POST /datasets``,
and ``settings.max_body_bytes`` on every other request.

Submissions (:func:`check_submission`, before a job is stored): at most
``settings.rate_limit_jobs_per_minute`` per owner in each fixed minute (a Redis counter, one atomic
INCR + EXPIRE), else a 429 whose ``Retry-After`` is the rest of the minute. The caps on the owner's jobs
queued or running (``settings.max_active_jobs_per_owner``, an experiment's members counted one by one) and
on the queue's depth (``settings.max_queued_jobs``) are checked by ``JobQueue.admitted`` in the same
transaction that stores the job, so concurrent submitters never pass them together; :func:`within_caps`
turns its refusals into a 429 and a 503 with ``Retry-After``.
Uploads (:func:`check_upload`) have their own counter, ``settings.rate_limit_uploads_per_minute``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Settings
from core.errors import QueueFull, SubmissionsBusy, TooManyActiveJobs
from core.queue import JobQueue
from core.store import JobStore, QuotaExceeded
from service.errors import PayloadTooLarge, TooManyRequests, Unavailable, error_response

MULTIPART_OVERHEAD = 64 * 1024
"""Bytes allowed on top of the upload cap for the multipart boundaries and part headers."""
UPLOAD_PATHS = frozenset({"/datasets"})
QUEUE_FULL_RETRY_AFTER = 10
"""Seconds a client is asked to wait when the queue is full."""
STRUCTURE_VALUES = 65_536
"""Values a JSON body may hold on top of ``max_inline_values``: the rest of a spec, an experiment's grid."""
ACTIVE_RETRY_AFTER = 10
"""Seconds a client is asked to wait when it has its cap of jobs queued or running."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its cap; rendered as a 413 by the app."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


def over_bytes(cap: int) -> str:
    return f"the request body is over the cap of {cap} bytes"


class BodyLimitMiddleware:
    """413 for a request body over its cap, decided from ``Content-Length`` or while streaming."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int, max_inline_values: int
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes + MULTIPART_OVERHEAD
        self.max_inline_values = max_inline_values
        self.max_values = max_inline_values + STRUCTURE_VALUES

    def cap(self, scope: Scope) -> int:
        """The body cap of this request."""
        return self.max_upload_bytes if scope["path"] in UPLOAD_PATHS else self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope)
        length = next((v for k, v in scope["headers"] if k.lower() == b"content-length"), None)
        if length is not None:
            if not length.strip().isdigit():
                await error_response(400, "Content-Length is not a number")(scope, receive, send)
                return
            if int(length) > cap:
                response = error_response(413, over_bytes(cap), {"Connection": "close"})
                await response(scope, receive, send)
                return
        received, values = 0, 0
        count_values = scope["path"] not in UPLOAD_PATHS

        async def counted_receive() -> Message:
            nonlocal received, values
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > cap:
                    raise BodyTooLarge(over_bytes(cap))
                if count_values:
                    values += body.count(b",") + body.count(b"[")
                    if values > self.max_values:
                        raise BodyTooLarge(self.over_values())
            return message

        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:  # read outside FastAPI's body parsing (which renders it itself)
            if started:
                raise
            await error_response(413, exc.detail, {"Connection": "close"})(scope, receive, send)

    def over_values(self) -> str:
        return (
            f"the request body holds more than {self.max_values} numbers (commas and '[' counted as it "
            f"arrives), over the cap max_inline_values = {self.max_inline_values} (plus "
            f"{STRUCTURE_VALUES} for the rest of the body)"
        )


def check_submission(jobs: JobQueue, owner: str) -> None:
    """Count a submission against the owner's rate of submissions; 429 over it."""
    limit = jobs.settings.rate_limit_jobs_per_minute
    if limit:
        count, retry_after = jobs.store.count_submission(owner)
        if count > limit:
            raise TooManyRequests(
                f"over the rate limit of {limit} job submissions per minute; retry in {retry_after} s",
                retry_after,
            )


@contextmanager
def within_caps() -> Iterator[None]:
    """Around ``JobQueue.submit``/``submit_experiment``: its refusals as HTTP errors, a 429 over the owner's
    cap of active jobs, a 503 with ``Retry-After`` when the queue is full or too busy to admit it."""
    try:
        yield
    except TooManyActiveJobs as exc:
        raise TooManyRequests(str(exc), ACTIVE_RETRY_AFTER) from None
    except (QueueFull, SubmissionsBusy) as exc:
        raise Unavailable(str(exc), QUEUE_FULL_RETRY_AFTER) from None


def check_upload(store: JobStore, settings: Settings, owner: str) -> None:
    """Count an upload; 429 over the owner's rate of uploads, 413 if the owner already keeps as many
    datasets as the quota allows (both before the file is parsed)."""
    limit = settings.rate_limit_uploads_per_minute
    if limit:
        count, retry_after = store.count_upload(owner)
        if count > limit:
            raise TooManyRequests(
                f"over the rate limit of {limit} dataset uploads per minute "
                f"(rate_limit_uploads_per_minute); retry in {retry_after} s",
                retry_after,
            )
    try:
        store.check_dataset_quota(owner)
    except QuotaExceeded as exc:
        raise PayloadTooLarge(str(exc)) from None
