"""The client's Server-Sent Events source against the real service: the same points as the job's costs,
each once, through streams the server closes every 0.3 s (resumed with Last-Event-ID), an answer lost on
the network, a wait that times out, a 404, and the asynchronous client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from core.config import Settings
from descent.client import (
    AsyncDescentClient,
    AsyncServerSent,
    DescentClient,
    NotFound,
    PointEvent,
    RetryPolicy,
    ServerSent,
    StatusEvent,
    WaitTimeout,
)
from service.main import create_app
from tests.e2e.helpers import ServerThread
from tests.e2e.proxy import LossyProxy
from tests.servers import free_port

pytestmark = pytest.mark.e2e

JOB = {"optimizer": {"name": "adam"}, "epochs": 4000, "record_every": 20}
QUICK_RETRY = RetryPolicy(attempts=4, backoff=0.01)


class Counting(httpx.HTTPTransport):
    """A transport that counts the requests for event streams."""

    def __init__(self) -> None:
        super().__init__()
        self.streams = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.streams += request.url.path.endswith("/events")
        return super().handle_request(request)


@pytest.fixture
def short_streams(e2e_settings: Settings, workers: list) -> Iterator[str]:
    """An API on the e2e queue whose event streams last 0.3 s (clients must resume them)."""
    settings = e2e_settings.model_copy(update={"events_max_seconds": 0.3})
    with ServerThread(create_app(settings), free_port()) as server:
        yield server.url


def test_streams_closed_every_0_3_s_are_resumed_with_nothing_missed_or_repeated(short_streams: str) -> None:
    transport = Counting()
    with DescentClient(short_streams, events=ServerSent, retry=QUICK_RETRY, transport=transport) as client:
        job = client.submit(JOB)
        events = list(client.events(job.id, timeout=120))
        costs = client.costs(job.id, limit=10_000).points
    assert [(e.epoch, e.cost) for e in events if isinstance(e, PointEvent)] == [
        (p.epoch, p.cost) for p in costs
    ]
    statuses = [e.status for e in events if isinstance(e, StatusEvent)]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded" and statuses.count("succeeded") == 1
    assert transport.streams > 2, "the stream was opened again after the server closed it"


def test_points_after_since_a_lost_answer_a_timeout_and_a_404(api_url: str, workers: list) -> None:
    with (
        LossyProxy(api_url) as proxy,
        DescentClient(proxy.url, events=ServerSent, retry=QUICK_RETRY) as client,
    ):
        job = client.submit(JOB)
        proxy.lose_next(1)
        points = list(client.points(job.id, since=1000, timeout=120))
        proxy.wait_lost(1)
        assert points == [p for p in client.costs(job.id, limit=10_000).points if p.epoch > 1000]
        assert points[0].epoch == 1001
        with pytest.raises(WaitTimeout, match="did not finish"):
            list(client.events(client.submit({"epochs": 150_000}).id, timeout=0.5))
        with pytest.raises(NotFound):
            list(client.events("f" * 32, timeout=10))


def test_the_async_client_follows_the_stream(api_url: str, workers: list) -> None:
    async def run() -> tuple[list, list]:
        async with AsyncDescentClient(api_url, events=AsyncServerSent, retry=QUICK_RETRY) as client:
            job = await client.submit(JOB)
            points = [p async for p in client.points(job.id, timeout=120)]
            done = await client.wait(job.id, timeout=60)
            assert done.status == "succeeded"
            return points, (await client.costs(job.id, limit=10_000)).points

    points, costs = asyncio.run(run())
    assert points == costs
