"""One reader of Redis per API process, fanning each job's events out to every client watching it.

The hub keeps, per watched stream, the seq of the last event it has handed out (``position``) and the
subscriptions. One task runs ``XREAD BLOCK`` on every watched stream at once from its positions, on a
connection of its own, and appends what it reads to each subscription's queue, so Redis sees one read per
process however many clients watch. A stream starts being watched at its last seq when its first client
subscribes; the reader, blocked on the old set of streams, is woken with ``CLIENT UNBLOCK``. A stream no
client watches any more is dropped.

A subscription records the position at which it joined: every event after it reaches its queue, every
event up to it is in Redis for the client to read (:meth:`EventHub.backlog`). A queue past
``queue_limit`` events (a client that does not keep up) stops filling and is marked ``overflowed``; its
client then joins again and reads what it missed from Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from core.config import Settings
from core.events import Event, entry_id, seq_of

log = logging.getLogger("descent.events")

BLOCK_MS = 5000
"""How long one XREAD waits for events before it is sent again."""
READ_COUNT = 1000
"""Events read per stream per XREAD (and per backlog page)."""
QUEUE_LIMIT = 10_000
"""Events a subscription holds before it overflows."""
RETRY_SECONDS = 0.5
POOL_SIZE = 16
"""Connections the hub's clients share for their own reads (a burst of new streams waits for one)."""
POOL_WAIT_SECONDS = 10.0
CLOSE_SECONDS = 2.0
"""How long closing a client may take when the API stops."""


class Subscription:
    """One client's view of one stream: the events after ``joined_at``, as the reader hands them out."""

    def __init__(self, key: str, joined_at: int, limit: int = QUEUE_LIMIT) -> None:
        self.key, self.joined_at, self.limit = key, joined_at, limit
        self.events: deque[Event] = deque()
        self.overflowed = False
        self._ready = asyncio.Event()

    def push(self, events: list[Event]) -> None:
        if self.overflowed:
            return
        if len(self.events) + len(events) > self.limit:
            self.overflowed = True
        else:
            self.events.extend(events)
        self._ready.set()

    async def next(self) -> list[Event]:
        """The events queued since the last call, waiting for at least one (empty once overflowed)."""
        while not self.events and not self.overflowed:
            self._ready.clear()
            await self._ready.wait()
        events = list(self.events)
        self.events.clear()
        return events


class EventHub:
    """The process's subscriptions and the one task reading their streams."""

    def __init__(self, settings: Settings, queue_limit: int = QUEUE_LIMIT) -> None:
        url = settings.redis_url or "redis://127.0.0.1:6379/0"
        timeout = settings.redis_timeout_seconds
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT_SECONDS,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )
        self.client = Redis(connection_pool=pool)
        # the reader's one connection (a pool of one, so CLIENT ID names the connection XREAD blocks on)
        self.reader = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                url,
                max_connections=1,
                socket_connect_timeout=timeout,
                socket_timeout=BLOCK_MS / 1000 + timeout,
            )
        )
        self.max_subscribers, self.queue_limit = settings.events_max_subscribers, queue_limit
        self.positions: dict[str, int] = {}
        self.subscribers: dict[str, set[Subscription]] = {}
        self.count = 0
        self._generation = 0  # bumped when a stream starts being watched
        self._reading = 0  # the generation of the streams the reader's XREAD in flight covers
        self._blocked = False
        self._reader_id: int | None = None
        self._task: asyncio.Task | None = None
        self._waking: asyncio.Task | None = None
        self._changed = asyncio.Event()

    def full(self, adding: int = 1) -> bool:
        """True when ``adding`` more streams would be over ``events_max_subscribers``."""
        return self.count + adding > self.max_subscribers

    async def subscribe(self, key: str) -> Subscription:
        """Start getting the events of stream ``key`` after the hub's position in it."""
        if key not in self.positions:
            top = await self.client.xrevrange(key, count=1)
            if key not in self.positions:  # no other client started watching it meanwhile
                self.positions[key] = seq_of(top[0][0]) if top else 0
                self.subscribers[key] = set()
                self._generation += 1
                self._wake()
        subscription = Subscription(key, self.positions[key], self.queue_limit)
        self.subscribers[key].add(subscription)
        self.count += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription``; forget its stream when no one else watches it."""
        watchers = self.subscribers.get(subscription.key)
        if watchers is None or subscription not in watchers:
            return
        watchers.discard(subscription)
        self.count -= 1
        if not watchers:
            del self.subscribers[subscription.key], self.positions[subscription.key]

    async def backlog(self, key: str, after: int, until: int) -> AsyncIterator[list[Event]]:
        """The events of ``key`` with ``after`` < seq ≤ ``until`` in Redis now, a page at a time."""
        while after < until:
            page = await self.client.xrange(key, f"({entry_id(after)}", entry_id(until), count=READ_COUNT)
            if not page:
                return
            events = [Event.of(entry, fields) for entry, fields in page]
            yield events
            after = events[-1].seq

    async def close(self) -> None:
        """Stop the reader and close the connections, within ``CLOSE_SECONDS`` each.

        A reader cancelled while it waits for its pool's one connection can stay "cancelling" (an
        ``asyncio.Condition`` re-acquires its lock before it lets the cancellation through), so the
        tasks get a deadline rather than an unbounded wait: the API's shutdown must not hang on them.
        """
        tasks = [task for task in (self._task, self._waking) if task is not None and not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=CLOSE_SECONDS)
            for task in pending:
                log.warning(
                    "events: task %s did not stop within %.0f s; left behind", task.get_name(), CLOSE_SECONDS
                )
        for client in (self.reader, self.client):
            with contextlib.suppress(TimeoutError, RedisError):
                await asyncio.wait_for(client.aclose(), CLOSE_SECONDS)

    def _wake(self) -> None:
        """Make the reader include the streams added since its XREAD was sent."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._read_forever(), name="descent-events-reader")
        self._changed.set()
        if self._waking is None or self._waking.done():
            self._waking = asyncio.create_task(self._unblock(), name="descent-events-wake")

    async def _unblock(self) -> None:
        """CLIENT UNBLOCK the reader until it reads with the current streams (an UNBLOCK that arrives
        before its XREAD blocks does nothing, so try again)."""
        while self._reading < self._generation:
            if self._blocked and self._reader_id is not None:
                with contextlib.suppress(RedisError):
                    if await self.client.client_unblock(self._reader_id):
                        return
            await asyncio.sleep(0.001)

    async def _read_forever(self) -> None:
        while True:
            try:
                self._reader_id = await self.reader.client_id()
                while True:
                    await self._read_once()
            except RedisError as exc:
                log.warning("events reader: %s; reading again in %.1f s", exc, RETRY_SECONDS)
                self._reader_id = None
                await asyncio.sleep(RETRY_SECONDS)

    async def _read_once(self) -> None:
        if not self.positions:
            self._changed.clear()
            await self._changed.wait()
        self._reading = self._generation
        streams = {key: entry_id(seq) for key, seq in self.positions.items()}
        self._blocked = True
        try:
            reply = await self.reader.xread(streams, count=READ_COUNT, block=BLOCK_MS)
        finally:
            self._blocked = False
        for raw_key, entries in reply or []:
            key = raw_key.decode()
            position = self.positions.get(key)
            if position is None:
                continue
            events = [e for e in (Event.of(i, f) for i, f in entries) if e.seq > position]
            if events:
                self.positions[key] = events[-1].seq
                for subscription in self.subscribers[key]:
                    subscription.push(events)
