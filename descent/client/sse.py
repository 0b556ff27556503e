"""A job's live events read from ``GET /jobs/{id}/events`` (Server-Sent Events), for
``DescentClient(url, events=ServerSent)`` (or ``AsyncDescentClient(url, events=AsyncServerSent)``).

The server pushes each cost point, progress and status change as the worker writes it, so nothing is
polled. A connection that breaks, ends (the server closes a stream after ``events_max_seconds``) or stays
silent past ``read_timeout`` (the server sends a heartbeat comment every ``events_heartbeat_seconds``) is
opened again with ``Last-Event-ID``: no event is missed or repeated. Failures in a row are retried as the
client's :class:`~descent.client.retry.RetryPolicy` says (429 and 503 after their ``Retry-After``); any
other error answer raises the client's :class:`~descent.client.errors.APIError`. Events trimmed before the
client read them (a ``gap`` event) are fetched from ``GET /jobs/{id}/costs``.

The no-I/O parts: :class:`SseDecoder` (lines → events) and :class:`StreamFollower` (events → the client's
:data:`~descent.client.events.JobEvent` values, the points after epoch ``since`` once each).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from core.statuses import FINISHED
from descent.client.errors import ConnectionFailed, error_for
from descent.client.events import (
    PAGE,
    JobEvent,
    PointEvent,
    ProgressEvent,
    StatusEvent,
    check_deadline,
    deadline_of,
)
from service.schemas import CostsPage

if TYPE_CHECKING:
    from descent.client.aio import AsyncDescentClient
    from descent.client.sync import DescentClient

RETRY_STATUSES = (429, 503)
"""Answers after which the stream is asked for again (after their Retry-After)."""


@dataclass(frozen=True)
class SseEvent:
    """One event of a ``text/event-stream``: its ``id`` (None if it had none), name and data."""

    id: str | None
    name: str
    data: str


class SseDecoder:
    """The events in a stream's lines, fed one at a time (``id``, ``event``, ``data``; comments skipped)."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._name = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        """The event that ``line`` completes (a blank line after data), else None."""
        if not line:
            event = SseEvent(self._id, self._name or "message", "\n".join(self._data)) if self._data else None
            self._id, self._name, self._data = None, "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "id":
            self._id = value
        elif field == "event":
            self._name = value
        elif field == "data":
            self._data.append(value)
        return None


class StreamFollower:
    """Turns a job stream's events into the client's events (no I/O): each point after epoch ``since``
    once (a job resumed from its checkpoint sends some epochs again), progress, every status; ``done``
    after a finished status; ``gap`` when points were trimmed before they were read (fetch them with
    ``GET /jobs/{id}/costs?since=``, then :meth:`backfill`)."""

    def __init__(self, since: int = 0) -> None:
        self.since = since
        self.last_id: str | None = None
        self.done = False
        self.gap = False

    def take(self, event: SseEvent) -> list[JobEvent]:
        if event.id is not None:
            self.last_id = event.id
        data = json.loads(event.data)
        if event.name == "point":
            return self._points([(data["epoch"], data["cost"])])
        if event.name == "progress":
            return [ProgressEvent(data["epoch"], data["epochs"])]
        if event.name == "status":
            self.done = data["status"] in FINISHED
            return [StatusEvent(data["status"])]
        if event.name == "gap":
            self.gap = True
        return []

    def backfill(self, page: CostsPage) -> list[JobEvent]:
        """The points of a costs page fetched after a gap; ``gap`` stays set while pages are full."""
        self.gap = len(page.points) == PAGE
        return self._points([(point.epoch, point.cost) for point in page.points])

    def _points(self, points: list[tuple[int, float | None]]) -> list[JobEvent]:
        events: list[JobEvent] = []
        for epoch, cost in points:
            if epoch > self.since:
                events.append(PointEvent(epoch, cost))
                self.since = epoch
        return events


def _request_headers(follower: StreamFollower) -> dict[str, str]:
    headers = {"Accept": "text/event-stream"}
    if follower.last_id is not None:
        headers["Last-Event-ID"] = follower.last_id
    return headers


def _timeout(http: httpx.Client | httpx.AsyncClient, read: float, deadline: float | None) -> httpx.Timeout:
    if deadline is not None:
        read = max(0.01, min(read, deadline - time.monotonic()))
    return httpx.Timeout(http.timeout.connect, read=read, write=http.timeout.write, pool=http.timeout.pool)


class ServerSent:
    """Events from ``GET /jobs/{id}/events``, for :class:`~descent.client.sync.DescentClient`."""

    def __init__(self, client: DescentClient, read_timeout: float = 60.0) -> None:
        self.client = client
        self.read_timeout = read_timeout

    def events(self, job_id: str, since: int = 0, timeout: float | None = None) -> Iterator[JobEvent]:
        follower, deadline, failures = StreamFollower(since), deadline_of(timeout), 0
        while not follower.done:
            check_deadline(job_id, deadline, timeout)
            http = self.client.http
            try:
                with http.stream(
                    "GET",
                    f"/jobs/{job_id}/events",
                    headers=_request_headers(follower),
                    timeout=_timeout(http, self.read_timeout, deadline),
                ) as response:
                    if response.status_code == 204:  # finished, and every event was read
                        follower.done = True
                        return
                    if response.status_code in RETRY_STATUSES:
                        response.read()
                        failures += 1
                        self._pause(job_id, failures, response)
                        continue
                    if not response.is_success:
                        response.read()
                        raise error_for(response)
                    decoder = SseDecoder()
                    for line in response.iter_lines():
                        event = decoder.feed(line)
                        if event is None:
                            continue
                        failures = 0
                        yield from follower.take(event)
                        while follower.gap:
                            yield from follower.backfill(self.client.costs(job_id, follower.since, PAGE))
                        if follower.done:
                            return
                        check_deadline(job_id, deadline, timeout)
            except httpx.TransportError as error:  # a read timeout past the deadline is a WaitTimeout
                check_deadline(job_id, deadline, timeout)
                failures += 1
                self._pause(job_id, failures, error=error)

    def _pause(
        self,
        job_id: str,
        failures: int,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> None:
        policy = self.client.retry
        if failures >= policy.attempts:
            if response is not None:
                raise error_for(response)
            raise ConnectionFailed(f"GET /jobs/{job_id}/events: {type(error).__name__}: {error}") from error
        time.sleep(policy.pause(failures, response))


class AsyncServerSent:
    """:class:`ServerSent` for :class:`~descent.client.aio.AsyncDescentClient`."""

    def __init__(self, client: AsyncDescentClient, read_timeout: float = 60.0) -> None:
        self.client = client
        self.read_timeout = read_timeout

    async def events(
        self, job_id: str, since: int = 0, timeout: float | None = None
    ) -> AsyncIterator[JobEvent]:
        follower, deadline, failures = StreamFollower(since), deadline_of(timeout), 0
        while not follower.done:
            check_deadline(job_id, deadline, timeout)
            http = self.client.http
            try:
                async with http.stream(
                    "GET",
                    f"/jobs/{job_id}/events",
                    headers=_request_headers(follower),
                    timeout=_timeout(http, self.read_timeout, deadline),
                ) as response:
                    if response.status_code == 204:
                        follower.done = True
                        return
                    if response.status_code in RETRY_STATUSES:
                        await response.aread()
                        failures += 1
                        await self._pause(job_id, failures, response)
                        continue
                    if not response.is_success:
                        await response.aread()
                        raise error_for(response)
                    decoder = SseDecoder()
                    async for line in response.aiter_lines():
                        event = decoder.feed(line)
                        if event is None:
                            continue
                        failures = 0
                        for job_event in follower.take(event):
                            yield job_event
                        while follower.gap:
                            page = await self.client.costs(job_id, follower.since, PAGE)
                            for job_event in follower.backfill(page):
                                yield job_event
                        if follower.done:
                            return
                        check_deadline(job_id, deadline, timeout)
            except httpx.TransportError as error:
                check_deadline(job_id, deadline, timeout)
                failures += 1
                await self._pause(job_id, failures, error=error)

    async def _pause(
        self,
        job_id: str,
        failures: int,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> None:
        policy = self.client.retry
        if failures >= policy.attempts:
            if response is not None:
                raise error_for(response)
            raise ConnectionFailed(f"GET /jobs/{job_id}/events: {type(error).__name__}: {error}") from error
        await asyncio.sleep(policy.pause(failures, response))
