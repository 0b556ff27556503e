"""The API's Redis clients: a blocking one for the routes that run in worker threads, and an asyncio one
for the polls, which run on the event loop (``core.store.reads``).

Both bound every connect and read by ``redis_timeout_seconds`` and retry only a refused or dropped
connection, once and at once (a restarted Redis), never a timeout: an outage is a 503 within about
``redis_timeout_seconds``.
"""

from __future__ import annotations

import asyncio

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from core.config import Settings

DEFAULT_URL = "redis://127.0.0.1:6379/0"
HEALTH_CHECK_SECONDS = 15


def _options(settings: Settings) -> dict:
    timeout = settings.redis_timeout_seconds
    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "health_check_interval": HEALTH_CHECK_SECONDS,
    }


def api_redis(settings: Settings) -> Redis:
    """The blocking client (a connection pool shared by the worker threads)."""
    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    return Redis.from_url(settings.redis_url or DEFAULT_URL, retry=retry, **_options(settings))


def api_async_redis(settings: Settings) -> AsyncRedis:
    """An asyncio client; its connections belong to the event loop that first uses them."""
    retry = AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    return AsyncRedis.from_url(settings.redis_url or DEFAULT_URL, retry=retry, **_options(settings))


class LoopRedis:
    """The app's asyncio client, made in the running event loop on first use, and again if the loop
    changes (each ``with TestClient(app)`` runs the app in a loop of its own; uvicorn runs one)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: AsyncRedis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> AsyncRedis:
        """The client of the running loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = api_async_redis(self.settings), loop
        return self._client

    async def close(self) -> None:
        """Close the client's connections (at the app's shutdown, in its loop)."""
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = self._loop = None
