"""One client's event stream: what it missed (from Redis), then what happens (from the hub), in seq
order with no event twice, a ``gap`` event where events were trimmed before it could read them, and the
end after the terminal ``status``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from core.events import Event, gap_event, seq_of
from core.store.base import ID
from service.errors import NotFound
from service.events.hub import EventHub


@dataclass
class Cursor:
    """Where a client is in a stream: the last seq it was sent, and whether the stream is over."""

    last: int
    done: bool = False

    def take(self, events: Iterable[Event]) -> bytes:
        """The SSE bytes of ``events`` this client has not had, up to a terminal status, with a ``gap``
        event before any hole in the seqs."""
        chunks = []
        for event in events:
            if event.seq <= self.last or self.done:
                continue
            if event.seq > self.last + 1:
                chunks.append(gap_event(self.last + 1, event.seq - 1).sse)
            chunks.append(event.sse)
            self.last, self.done = event.seq, event.terminal
        return b"".join(chunks)

    def reach(self, seq: int) -> bytes:
        """A ``gap`` event for the events up to ``seq`` this client was not sent (none: empty)."""
        if seq <= self.last:
            return b""
        chunk, self.last = gap_event(self.last + 1, seq).sse, seq
        return chunk


async def follow(hub: EventHub, key: str, after: int, max_seconds: float) -> AsyncIterator[bytes]:
    """The SSE bytes of stream ``key`` after seq ``after``, until its terminal status or for at most
    ``max_seconds`` (the client then reconnects with its Last-Event-ID)."""
    deadline = asyncio.get_running_loop().time() + max_seconds
    cursor = Cursor(after)
    subscription = await hub.subscribe(key)
    try:
        while not cursor.done:
            async for events in hub.backlog(key, cursor.last, subscription.joined_at):
                if chunk := cursor.take(events):
                    yield chunk
                if cursor.done:
                    return
            if chunk := cursor.reach(subscription.joined_at):  # trimmed before the backlog was read
                yield chunk
            while not cursor.done and not subscription.overflowed:
                remaining = deadline - asyncio.get_running_loop().time()
                try:
                    events = await asyncio.wait_for(subscription.next(), max(remaining, 0))
                except TimeoutError:
                    return
                if chunk := cursor.take(events):
                    yield chunk
            if not cursor.done:  # the client fell behind: join again and read what it missed
                hub.unsubscribe(subscription)
                subscription = await hub.subscribe(key)
    finally:
        hub.unsubscribe(subscription)


async def job_stream_start(hub: EventHub, key: str, job_key: str, owner: str, job_id: str) -> tuple[str, int]:
    """The job's status and its stream's last seq, read together; NotFound unless the job is ``owner``'s."""
    if not ID.fullmatch(job_id):
        raise NotFound(f"no job with id {job_id!r}")
    async with hub.client.pipeline(transaction=True) as pipe:
        pipe.hmget(job_key, ["owner", "status"])
        pipe.xrevrange(key, count=1)
        (job_owner, status), top = await pipe.execute()
    if status is None or job_owner.decode() != owner:
        raise NotFound(f"no job with id {job_id!r}")
    return status.decode(), seq_of(top[0][0]) if top else 0
