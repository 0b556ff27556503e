"""A job's live events: cost points, progress and status changes, in the order they happened, ending with
the final status.

The events are those of the server's Server-Sent Events stream (``event: point`` with ``{"epoch",
"cost"}``, ``event: progress`` with ``{"epoch", "epochs"}``, ``event: status`` with ``{"status"}``). An
event source is anything with ``events(job_id, since, timeout)`` (:class:`EventSource`, or
:class:`AsyncEventSource` for the asynchronous client). The one here, :class:`Polling`, polls
``GET /jobs/{id}/costs?since=``; the clients' default, ``descent.client.streaming.Streaming``, reads
``GET /jobs/{id}/events`` (resuming with ``Last-Event-ID``). The clients take either
(``DescentClient(events=Polling)``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.statuses import FINISHED, JobStatus
from descent.client.errors import WaitTimeout
from service.schemas import CostsPage

if TYPE_CHECKING:
    from descent.client.aio import AsyncDescentClient
    from descent.client.sync import DescentClient

PAGE = 1000
"""Cost points asked for per poll."""


@dataclass(frozen=True)
class PointEvent:
    """The mean cost over epoch ``epoch``; None if it was not finite."""

    epoch: int
    cost: float | None


@dataclass(frozen=True)
class ProgressEvent:
    """``epoch`` epochs completed of ``epochs``."""

    epoch: int
    epochs: int


@dataclass(frozen=True)
class StatusEvent:
    """The job's status is now ``status``; a finished one (succeeded, failed, canceled) is the last event."""

    status: JobStatus

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


JobEvent = PointEvent | ProgressEvent | StatusEvent


class EventSource(Protocol):
    def events(self, job_id: str, since: int = 0, timeout: float | None = None) -> Iterator[JobEvent]:
        """The job's events after epoch ``since`` until its final status; WaitTimeout after ``timeout`` s."""
        ...


class AsyncEventSource(Protocol):
    def events(self, job_id: str, since: int = 0, timeout: float | None = None) -> AsyncIterator[JobEvent]:
        """As :meth:`EventSource.events`, asynchronously."""
        ...


class CostsFollower:
    """Turns successive costs pages into events (no I/O): each point once, progress and status when they
    change, and the final status only once a page shows every point is in (fewer than asked for)."""

    def __init__(self, job_id: str, since: int = 0) -> None:
        self.job_id = job_id
        self.since = since
        self.done = False
        self._progress: tuple[int, int] | None = None
        self._status: str | None = None

    def take(self, page: CostsPage) -> list[JobEvent]:
        events: list[JobEvent] = [PointEvent(point.epoch, point.cost) for point in page.points]
        self.since = page.next_since
        progress = (page.progress.epoch, page.progress.epochs)
        if progress != self._progress:
            self._progress = progress
            events.append(ProgressEvent(*progress))
        self.done = page.status in FINISHED and len(page.points) < PAGE
        if page.status != self._status and (self.done or page.status not in FINISHED):
            self._status = page.status
            events.append(StatusEvent(page.status))
        return events


class Deadline:
    """The moment ``timeout`` seconds from now by which the events of job ``job_id`` must have ended (never,
    for no timeout)."""

    def __init__(self, job_id: str, timeout: float | None) -> None:
        self.job_id, self.timeout = job_id, timeout
        self.at = None if timeout is None else time.monotonic() + timeout

    def left(self) -> float | None:
        """The seconds left (0 once passed), or None for no deadline."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check(self, cause: BaseException | None = None) -> None:
        """Raise :class:`WaitTimeout` (from ``cause``) once the deadline has passed."""
        if self.passed():
            raise WaitTimeout(f"job {self.job_id} did not finish within {self.timeout} s") from cause


class Polling:
    """Events from polling ``GET /jobs/{id}/costs?since=`` every ``interval`` seconds while nothing new."""

    def __init__(self, client: DescentClient, interval: float = 0.25) -> None:
        self.client = client
        self.interval = interval

    def events(self, job_id: str, since: int = 0, timeout: float | None = None) -> Iterator[JobEvent]:
        follower, deadline = CostsFollower(job_id, since), Deadline(job_id, timeout)
        while True:
            page = self.client.costs(job_id, since=follower.since, limit=PAGE)
            yield from follower.take(page)
            if follower.done:
                return
            deadline.check()
            if not page.points:
                time.sleep(self.interval)


class AsyncPolling:
    """:class:`Polling` for the asynchronous client."""

    def __init__(self, client: AsyncDescentClient, interval: float = 0.25) -> None:
        self.client = client
        self.interval = interval

    async def events(
        self, job_id: str, since: int = 0, timeout: float | None = None
    ) -> AsyncIterator[JobEvent]:
        follower, deadline = CostsFollower(job_id, since), Deadline(job_id, timeout)
        while True:
            page = await self.client.costs(job_id, since=follower.since, limit=PAGE)
            for event in follower.take(page):
                yield event
            if follower.done:
                return
            deadline.check()
            if not page.points:
                await asyncio.sleep(self.interval)
