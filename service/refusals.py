"""A client that keeps sending what is refused is answered 429 before it sends more (a pure ASGI
middleware, inside ``service.auth``).

A refusal is an answer 400, 413, 415 or 422 to a request that sends something (POST, PUT, PATCH): a body,
a file or a parameter the service would not take, each of which may have cost the API the whole body to
find out (a 32 MB predict body is counted before it is refused, an upload spooled and parsed). Each client
may be refused ``settings.max_refusals_per_minute`` times in a fixed minute; from then until the minute
ends, each request of its that sends something is answered at once::

    429 {"detail": "… max_refusals_per_minute …"}   Retry-After: <seconds to the minute's end>

with ``Connection: close``, before its body is read and before any route, Redis or parser sees it, after
holding the request :data:`HOLD_SECONDS` (a sleep: no CPU, and the body waits unread in the socket). So a
client that ignores ``Retry-After`` gets one answer a second per connection, not hundreds: a flood of bad
requests costs the API next to nothing, and the other clients' polls keep their pace.
Reads (GET, HEAD, DELETE) are neither counted nor refused: they send nothing costly, and a page that asks
for the boundaries of 64 models of 3 features (64 answers 422) must not lock its user out; a client over
the limit still watches its jobs.

A client is its owner with API keys, and its address without them (everyone is then ``public``). The
count is kept per API process, in memory (``limits``' fixed window): a refused request costs no Redis
round trip, and an accepted one a dictionary lookup. The public paths (``/healthz``, the page) are never
refused this way. 0 turns it off.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.store import PUBLIC_OWNER
from service.auth import is_public
from service.errors import error_response

REFUSALS = frozenset({400, 413, 415, 422})
"""The answers counted against a client: what it sent cannot be taken."""
HOLD_SECONDS = 1.0
"""How long a request over the limit waits for its 429 (a client that honours Retry-After never does)."""
SENDING = frozenset({"POST", "PUT", "PATCH"})
"""The methods counted and refused: the requests that send a body."""

log = logging.getLogger(__name__)


def client_of(scope: Scope) -> str:
    """Who a request counts against: its owner, or ``address:<ip>`` when there are no API keys."""
    owner = scope["state"]["owner"]
    if owner != PUBLIC_OWNER:
        return owner
    address = scope.get("client")
    return f"address:{address[0] if address else 'unknown'}"


class RefusalLimitMiddleware:
    """A held 429 for a client refused ``per_minute`` times in this minute; counts its refusals."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.item = RateLimitItemPerMinute(per_minute) if per_minute else None
        self.limiter = FixedWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.item is None
            or scope["type"] != "http"
            or scope["method"] not in SENDING
            or is_public(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        item, client = self.item, client_of(scope)
        if not self.limiter.test(item, client):
            await asyncio.sleep(HOLD_SECONDS)
            await self.refuse(item, client)(scope, receive, send)
            return

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REFUSALS:
                self.limiter.hit(item, client)
                if self.limiter.get_window_stats(item, client).remaining == 0:
                    log.warning("%s was refused %d times this minute: 429 until it ends", client, item.amount)
            await send(message)

        await self.app(scope, receive, counted_send)

    def refuse(self, item: RateLimitItemPerMinute, client: str) -> JSONResponse:
        """The 429 of a client over its refusals, with the seconds to the end of the minute."""
        reset = self.limiter.get_window_stats(item, client).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        detail = (
            f"{item.amount} requests of this client that sent something were refused (400, 413, 415 or 422) "
            f"in this minute, the cap max_refusals_per_minute; retry in {retry_after} s"
        )
        return error_response(429, detail, {"Retry-After": str(retry_after), "Connection": "close"})
