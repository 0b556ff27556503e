"""Live events from the server's Server-Sent Events stream, ``GET /jobs/{id}/events`` (read with httpx-sse).

:class:`Streaming` (and :class:`AsyncStreaming`) keep one connection open; Redis is read once per API
process, however many clients watch (``docs/events.md``). The contract is that of
``descent.client.events``: each point after epoch ``since`` once, in epoch order, progress and status
changes, and the final status last.

- **Resuming.** When the stream ends before the final status (the server closes a stream after
  ``events_max_seconds``) or the connection breaks, the source reconnects with ``Last-Event-ID``: the
  server sends exactly the events after it. Reconnections follow the client's :class:`RetryPolicy`
  (a run of failures longer than its ``attempts`` raises).
- **Gaps.** A ``gap`` event (events trimmed before this client read them) is filled from
  ``GET /jobs/{id}/costs?since=``, so no point is missing; a point at an epoch already given (a job resumed
  from its checkpoint records the epochs after it again) is not given twice.
- **Timeout.** With ``timeout``, :class:`~descent.client.errors.WaitTimeout` once it has passed, also
  while the stream is idle (the read waits at most the time left).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse

from core.statuses import FINISHED
from descent.client import calls
from descent.client.events import (
    PAGE,
    Deadline,
    JobEvent,
    PointEvent,
    ProgressEvent,
    StatusEvent,
)
from descent.client.retry import delay_or_raise
from service.schemas import CostsPage

if TYPE_CHECKING:
    from descent.client.aio import AsyncDescentClient
    from descent.client.sync import DescentClient


class StreamFollower:
    """Turns SSE messages (and, after a gap, costs pages) into events (no I/O); remembers the last event id
    for a reconnection and the last epoch given."""

    def __init__(self, since: int = 0) -> None:
        self.since = since
        self.last_id = 0
        self.gap = False  # a gap event came: the caller fills it with costs pages (take_page)
        self.done = False

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self.last_id)} if self.last_id else {}

    def take(self, message: ServerSentEvent) -> list[JobEvent]:
        if message.id:
            self.last_id = int(message.id)
        data = message.json() if message.data else {}
        if message.event == "point":
            return self._point(data["epoch"], data["cost"])
        if message.event == "progress":
            return [ProgressEvent(data["epoch"], data["epochs"])]
        if message.event == "status":
            self.done = data["status"] in FINISHED
            return [StatusEvent(data["status"])]
        if message.event == "gap":
            self.gap = True
        return []

    def take_page(self, page: CostsPage) -> list[JobEvent]:
        """The points of a costs page read to fill a gap (a short page fills it)."""
        self.gap = len(page.points) >= PAGE
        return [event for point in page.points for event in self._point(point.epoch, point.cost)]

    def _point(self, epoch: int, cost: float | None) -> list[JobEvent]:
        if epoch <= self.since:
            return []
        self.since = epoch
        return [PointEvent(epoch, cost)]


def read_timeout(http_timeout: httpx.Timeout, deadline: Deadline) -> httpx.Timeout:
    """The client's timeouts, with reads waiting at most until ``deadline``."""
    left = deadline.left()
    if left is None:
        return http_timeout
    left = max(0.01, left)
    read = left if http_timeout.read is None else min(http_timeout.read, left)
    return httpx.Timeout(
        connect=http_timeout.connect, read=read, write=http_timeout.write, pool=http_timeout.pool
    )


class Streaming:
    """Events from ``GET /jobs/{id}/events`` for :class:`~descent.client.sync.DescentClient`."""

    def __init__(self, client: DescentClient) -> None:
        self.client = client

    def events(self, job_id: str, since: int = 0, timeout: float | None = None) -> Iterator[JobEvent]:
        follower, deadline, failures = StreamFollower(since), Deadline(job_id, timeout), 0
        call = calls.get_events(job_id)
        http = self.client.http
        while not follower.done:
            deadline.check()
            try:
                with connect_sse(
                    http,
                    "GET",
                    call.path,
                    headers=follower.headers(),
                    timeout=read_timeout(http.timeout, deadline),
                ) as source:
                    response = source.response
                    if response.status_code == 204:  # finished, and every event was given
                        return
                    if not response.is_success:
                        response.read()
                        failures += 1
                        time.sleep(delay_or_raise(self.client.retry, call, failures, response=response))
                        continue
                    failures = 0
                    for message in source.iter_sse():
                        yield from follower.take(message)
                        while follower.gap:
                            page = self.client.costs(job_id, since=follower.since, limit=PAGE)
                            yield from follower.take_page(page)
                        if follower.done:
                            return
                        deadline.check()
            except httpx.TransportError as error:
                deadline.check(cause=error)
                failures += 1
                time.sleep(delay_or_raise(self.client.retry, call, failures, error=error))


class AsyncStreaming:
    """:class:`Streaming` for :class:`~descent.client.aio.AsyncDescentClient`."""

    def __init__(self, client: AsyncDescentClient) -> None:
        self.client = client

    async def events(
        self, job_id: str, since: int = 0, timeout: float | None = None
    ) -> AsyncIterator[JobEvent]:
        follower, deadline, failures = StreamFollower(since), Deadline(job_id, timeout), 0
        call = calls.get_events(job_id)
        http = self.client.http
        while not follower.done:
            deadline.check()
            try:
                async with aconnect_sse(
                    http,
                    "GET",
                    call.path,
                    headers=follower.headers(),
                    timeout=read_timeout(http.timeout, deadline),
                ) as source:
                    response = source.response
                    if response.status_code == 204:
                        return
                    if not response.is_success:
                        await response.aread()
                        failures += 1
                        await asyncio.sleep(
                            delay_or_raise(self.client.retry, call, failures, response=response)
                        )
                        continue
                    failures = 0
                    async for message in source.aiter_sse():
                        for event in follower.take(message):
                            yield event
                        while follower.gap:
                            page = await self.client.costs(job_id, since=follower.since, limit=PAGE)
                            for event in follower.take_page(page):
                                yield event
                        if follower.done:
                            return
                        deadline.check()
            except httpx.TransportError as error:
                deadline.check(cause=error)
                failures += 1
                await asyncio.sleep(delay_or_raise(self.client.retry, call, failures, error=error))
