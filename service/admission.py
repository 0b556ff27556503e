"""``POST /datasets`` admitted before its body is read (a pure ASGI middleware, inside ``service.auth``).

An upload costs the API its body (up to ``max_upload_bytes``, received and spooled to disk) before any
route code runs, so what can refuse it without the file is checked first, and the refusal is sent
without reading a byte of the body (``Connection: close``):

1. the owner's upload rate (429) and dataset count (413), ``service.limits.check_upload``;
2. a parser of the pool (``service.parsers``): an upload waits for one before its body is read, so at
   most ``upload_parsers`` bodies are received at once; 503 after ``upload_wait_seconds``.

The parser is held until the response is sent; the route finds it in ``request.state.upload_parser``.
A Redis error is answered as the app answers it (503, or 507 when Redis is full).
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from core.store import JobStore
from service.errors import ServiceError, error_response, redis_error_response
from service.limits import UPLOAD_PATHS, check_upload


class UploadAdmissionMiddleware:
    """Rate, quota and a parser for ``POST /datasets`` before its body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        async with AsyncExitStack() as stack:
            try:
                store = JobStore(state.redis, state.settings)
                await run_in_threadpool(check_upload, store, state.settings, scope["state"]["owner"])
                parser = await stack.enter_async_context(state.parsers.parser())
            except ServiceError as exc:
                headers = {**(exc.headers or {}), "Connection": "close"}
                await error_response(exc.status_code, exc.detail, headers)(scope, receive, send)
                return
            except RedisError as exc:
                response = redis_error_response(exc)
                if response is None:
                    raise
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
            scope["state"]["upload_parser"] = parser
            await self.app(scope, receive, send)
