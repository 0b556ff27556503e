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

    def take(self, events: Iterable[Event]) -> list[Event]:
        """The ``events`` this client has not had, up to a terminal status, with a ``gap`` event before
        any hole in the seqs."""
        taken = []
        for event in events:
            if event.seq <= self.last or self.done:
                continue
            if event.seq > self.last + 1:
                taken.append(gap_event(self.last + 1, event.seq - 1))
            taken.append(event)
            self.last, self.done = event.seq, event.terminal
        return taken

    def reach(self, seq: int) -> list[Event]:
        """A ``gap`` event for the events up to ``seq`` this client was not sent (none: empty)."""
        if seq <= self.last:
            return []
        gap, self.last = gap_event(self.last + 1, seq), seq
        return [gap]


async def follow(hub: EventHub, key: str, after: int, max_seconds: float) -> AsyncIterator[bytes]:
    """The SSE bytes of stream ``key`` after seq ``after`` (:func:`follow_events`, each event as it is
    stored)."""
    async for events in follow_events(hub, key, after, max_seconds):
        yield b"".join(event.sse for event in events)


async def follow_events(
    hub: EventHub, key: str, after: int, max_seconds: float
) -> AsyncIterator[list[Event]]:
    """The events of stream ``key`` after seq ``after``, a batch at a time, until its terminal status or
    for at most ``max_seconds`` (the client then reconnects with its Last-Event-ID)."""
    deadline = asyncio.get_running_loop().time() + max_seconds
    cursor = Cursor(after)
    subscription = await hub.subscribe(key)
    try:
        while not cursor.done:
            async for events in hub.backlog(key, cursor.last, subscription.joined_at):
                if taken := cursor.take(events):
                    yield taken
                if cursor.done:
                    return
            if gap := cursor.reach(subscription.joined_at):  # trimmed before the backlog was read
                yield gap
            while not cursor.done and not subscription.overflowed:
                remaining = deadline - asyncio.get_running_loop().time()
                try:
                    events = await asyncio.wait_for(subscription.next(), max(remaining, 0))
                except TimeoutError:
                    return
                if taken := cursor.take(events):
                    yield taken
            if not cursor.done:  # the client fell behind: join again and read what it missed
                hub.unsubscribe(subscription)
                subscription = await hub.subscribe(key)
    finally:
        hub.unsubscribe(subscription)


async def job_stream_start(hub: EventHub, key: str, job_key: str, owner: str, job_id: str) -> tuple[str, int]:
    """The job's status and its stream's last seq, read together; NotFound unless the job is ``owner``'s."""
    if not ID.fullmatch(job_id):
        raise NotFound(f"no job with id {job_id!r}")
    [(job_owner, status, last)] = await stream_starts(hub, [(job_key, key)])
    if status is None or job_owner != owner:
        raise NotFound(f"no job with id {job_id!r}")
    return status, last


async def stream_starts(hub: EventHub, jobs: list[tuple[str, str]]) -> list[tuple[str, str | None, int]]:
    """For each ``(job key, stream key)``: the job's owner and status (None if the job is gone) and its
    stream's last seq, all read in one transaction."""
    async with hub.client.pipeline(transaction=True) as pipe:
        for job_key, key in jobs:
            pipe.hmget(job_key, ["owner", "status"])
            pipe.xrevrange(key, count=1)
        replies = await pipe.execute()
    starts = []
    for (job_owner, status), top in zip(replies[::2], replies[1::2], strict=True):
        owner = job_owner.decode() if job_owner is not None else ""
        starts.append((owner, None if status is None else status.decode(), seq_of(top[0][0]) if top else 0))
    return starts
