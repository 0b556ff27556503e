"""What a client may send: request body caps (a pure ASGI middleware), job submissions per owner per
minute, and the queue's depth.

Body caps, enforced before (and while) the body is read:

* A ``Content-Length`` over the cap is a 413 at once: not one byte of the body is read.
* A body without one (chunked) is counted as it streams in and cut at the cap: the app's read raises a
  413 the moment the count passes it, so at most the cap (plus one chunk) is ever buffered.

The cap is ``settings.max_upload_bytes`` plus room for the multipart envelope on ``POST /datasets``, and
``settings.max_body_bytes`` on every other request.

Submissions (:func:`check_submission`, before a job is stored): at most
``settings.rate_limit_jobs_per_minute`` per owner in each fixed minute (a Redis counter, one atomic
INCR + EXPIRE), else a 429 whose ``Retry-After`` is the rest of the minute; at most
``settings.max_active_jobs_per_owner`` of the owner's jobs queued or running, an experiment's members
counted one by one, else a 429; and none while
``settings.max_queued_jobs`` wait on the queue, a 503 with ``Retry-After``. The depth check is not atomic
with the enqueue: concurrent submitters can pass it together, so the cap may be exceeded by as many (the
same holds for the owner's cap, by as many requests as the owner sends at once).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.queue import JobQueue
from service.errors import TooManyRequests, Unavailable, error_response

MULTIPART_OVERHEAD = 64 * 1024
"""Bytes allowed on top of the upload cap for the multipart boundaries and part headers."""
UPLOAD_PATHS = frozenset({"/datasets"})
QUEUE_FULL_RETRY_AFTER = 10
"""Seconds a client is asked to wait when the queue is full."""
ACTIVE_RETRY_AFTER = 10
"""Seconds a client is asked to wait when it has its cap of jobs queued or running."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its cap; rendered as a 413 by the app."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request body is over the cap of {cap} bytes")


class BodyLimitMiddleware:
    """413 for a request body over its cap, decided from ``Content-Length`` or while streaming."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes + MULTIPART_OVERHEAD

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
                too_large = BodyTooLarge(cap)
                response = error_response(413, too_large.detail, {"Connection": "close"})
                await response(scope, receive, send)
                return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
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


def check_submission(jobs: JobQueue, owner: str, adding: int = 1) -> None:
    """Count a submission of ``adding`` jobs (an experiment's members); 429 over the owner's rate of
    submissions, 503 when they would take the queue over its cap."""
    settings = jobs.settings
    limit = settings.rate_limit_jobs_per_minute
    if limit:
        count, retry_after = jobs.store.count_submission(owner)
        if count > limit:
            raise TooManyRequests(
                f"over the rate limit of {limit} job submissions per minute; retry in {retry_after} s",
                retry_after,
            )
    active = jobs.store.count_active(owner)
    if active + adding > settings.max_active_jobs_per_owner:
        raise TooManyRequests(
            f"{active} of your jobs are queued or running and this submission adds {adding}: over the cap "
            f"of {settings.max_active_jobs_per_owner} per owner (max_active_jobs_per_owner); wait for some "
            "to finish, or cancel some",
            ACTIVE_RETRY_AFTER,
        )
    if jobs.queue.count + adding > settings.max_queued_jobs:
        raise Unavailable(
            f"the queue is full ({settings.max_queued_jobs} jobs waiting, the cap); retry later",
            QUEUE_FULL_RETRY_AFTER,
        )
