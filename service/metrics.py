"""Prometheus metrics of the API: per-route requests and latency, Redis errors, SSE subscribers, and
``GET /metrics`` (prometheus-client's text format).

Each API process counts its own requests in the metrics below. With several uvicorn processes,
``descent serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder they all write to, and a scrape
of any of them adds up every process's files (prometheus-client's multiprocess mode); without it the
process's own registry is read. What the workers know (jobs, runs, steps, queue, workers alive) is read
from Redis at each scrape (``core.metrics.RedisCollector``).

* ``descent_http_requests_total{method, route, status}`` and
  ``descent_http_request_duration_seconds{method, route}`` (a histogram): ``route`` is the matched route's
  template (``/jobs/{job_id}``), or ``other`` for static files and unknown paths;
* ``descent_redis_errors_total{error}``: requests answered 503 because Redis was unreachable or refused;
* ``descent_sse_subscribers``: clients connected to an event stream now, across the API's processes
  (``livesum``); an SSE endpoint wraps each stream in :func:`sse_subscriber`;
* ``descent_api_processes``: API processes serving now (``livesum``: 2 under ``--api-processes 2``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from redis import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Settings
from core.metrics import RedisCollector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
OTHER_ROUTE = "other"

HTTP_REQUESTS = Counter("descent_http_requests", "HTTP requests answered.", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "descent_http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"]
)
REDIS_ERRORS = Counter(
    "descent_redis_errors", "Requests answered 503 because Redis was unreachable or refused.", ["error"]
)
SSE_SUBSCRIBERS = Gauge(
    "descent_sse_subscribers", "Clients connected to an event stream now.", multiprocess_mode="livesum"
)
API_PROCESSES = Gauge("descent_api_processes", "API processes serving now.", multiprocess_mode="livesum")


@contextmanager
def sse_subscriber() -> Iterator[None]:
    """Counts one connected event-stream client for the duration of the block."""
    SSE_SUBSCRIBERS.inc()
    try:
        yield
    finally:
        SSE_SUBSCRIBERS.dec()


class ProcessCollector(Collector):
    """This process's own metrics (the default registry), when there is no multiprocess folder."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape_registry(
    redis: Redis, settings: Settings, multiprocess_dir: str | None = None
) -> CollectorRegistry:
    """What a scrape reads: every API process's metrics (from ``multiprocess_dir``, by default
    ``$PROMETHEUS_MULTIPROC_DIR``; without one, this process's) and Redis's."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir or os.environ.get(MULTIPROCESS_DIR)
    if folder:
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry.register(ProcessCollector())
    registry.register(RedisCollector(redis, settings))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus's text format."""
    return generate_latest(registry)


def process_started() -> None:
    """Count this process among those serving."""
    API_PROCESSES.set(1)


def process_stopped() -> None:
    """Drop this process's live gauges (``descent_api_processes``, ``descent_sse_subscribers``) from the
    multiprocess folder, so the sum counts only processes that still serve."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(os.getpid())


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", OTHER_ROUTE)
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
