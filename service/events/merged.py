"""An experiment's event stream: its members' job streams, each followed as ``GET /jobs/{id}/events``
follows it (:func:`service.events.stream.follow_events`), merged into one.

An event's ``data`` gains the member's ``job_id``. Its ``id`` is the position of the whole stream after it:
the last seq sent of each member, in the experiment's member order, joined by dots (``4.0.17``). A client
that reconnects with that id as ``Last-Event-ID`` resumes every member exactly after its own seq, so the
merged stream has no gap and no duplicate however its members' events were interleaved. The stream ends
once every member has sent its terminal status (or at ``events_max_seconds``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from core.events import Event

SEPARATOR = "."


def parse_position(text: str, members: int) -> list[int]:
    """The per-member seqs of a merged stream's event id (``""``: the start).

    ``text`` is whole numbers joined by dots (the route checks it). Any such position is taken at its
    word, as the job stream takes any number: a member it does not name (fewer parts than members) is at
    0, parts beyond the members are ignored.
    """
    seqs = [int(part) for part in text.split(SEPARATOR)[:members]] if text else []
    return seqs + [0] * (members - len(seqs))


def member_sse(event: Event, job_id: str, position: Sequence[int]) -> bytes:
    """``event`` of member ``job_id`` as the merged stream sends it: its data with ``"job_id"`` first, its
    id the stream's ``position`` after it."""
    body = event.data.strip()
    data = b'{"job_id":"%s"%s%s' % (job_id.encode(), b"," if body != b"{}" else b"", body[1:])
    ident = SEPARATOR.join(map(str, position)).encode()
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (ident, event.name.encode(), data)


async def merge(
    streams: dict[int, AsyncIterator[list[Event]]], queue_size: int = 64
) -> AsyncIterator[tuple[int, list[Event]]]:
    """``(index, events)`` from every stream of ``streams`` as they come, until all have ended.

    Each stream is read by a task of its own into one bounded queue (a slow client holds the readers
    back, not memory); an error in one stream is raised here, and closing this generator cancels the
    readers (each stream's own ``finally`` then unsubscribes it).
    """
    queue: asyncio.Queue[tuple[int, list[Event] | BaseException | None]] = asyncio.Queue(queue_size)

    async def pump(index: int, stream: AsyncIterator[list[Event]]) -> None:
        try:
            async for events in stream:
                await queue.put((index, events))
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put((index, exc))
            return
        await queue.put((index, None))

    tasks = [asyncio.create_task(pump(index, stream)) for index, stream in streams.items()]
    try:
        running = len(tasks)
        while running:
            index, item = await queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield index, item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def follow_members(
    streams: dict[int, AsyncIterator[list[Event]]], job_ids: Sequence[str], position: list[int]
) -> AsyncIterator[bytes]:
    """The SSE bytes of the merged ``streams`` (member index → its events after ``position[index]``)."""
    position = list(position)
    async for index, events in merge(streams):
        chunks = []
        for event in events:
            position[index] = event.seq
            chunks.append(member_sse(event, job_ids[index], position))
        yield b"".join(chunks)
