"""``X-Request-ID``: taken from the request or made, echoed on the response, and on every log line of it.

A client's (or a proxy's) id is kept when it is 1 to 128 visible ASCII characters; anything else is
replaced by a fresh one (32 hex digits), so a log line never carries a header's control characters. The
id goes into ``core.logs.REQUEST_ID`` for the request's duration: the request's log lines (uvicorn's
access line included) carry it as ``request_id``. Routes that know the job put its id in
``core.logs.JOB_ID`` (:func:`bind_job_id`).
"""

from __future__ import annotations

import re
import uuid

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import JOB_ID, REQUEST_ID

HEADER = "X-Request-ID"
VALID = re.compile(r"[\x21-\x7e]{1,128}")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's ``X-Request-ID`` if it is a valid one, else a new id."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if VALID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request id for the request's log lines and echoes it as ``X-Request-ID`` (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        header = (HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        request_token, job_token = REQUEST_ID.set(request_id), JOB_ID.set(None)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(request_token)
            JOB_ID.reset(job_token)


async def bind_job_id(request: Request) -> None:
    """A router dependency: the request's log lines carry the ``job_id`` of its path, if it has one."""
    job_id = request.path_params.get("job_id")
    if job_id:
        JOB_ID.set(job_id)
