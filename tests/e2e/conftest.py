"""End-to-end fixtures: a redis-server of these tests' own, a real uvicorn, real RQ worker processes.

The Redis is not the suite's session Redis (other tests flush that one); the API runs in a thread
(``create_app(settings)`` under uvicorn) and the workers are ``python -m descent worker`` subprocesses on
a queue of their own, as in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import Queue, Worker

from core.config import Settings
from descent.embedded_redis import stop_process
from service.main import create_app
from tests.e2e.helpers import ServerThread, start_worker, wait_for
from tests.servers import RedisServer, free_port, start_redis

N_WORKERS = 2
API_KEYS = ("e2e-alice-0123456789abcdef", "e2e-bob-fedcba9876543210")


@pytest.fixture(scope="session")
def e2e_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server for the end-to-end tests only."""
    server = start_redis(tmp_path_factory.mktemp("e2e-redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def e2e_settings(e2e_redis: RedisServer) -> Settings:
    """Settings of the API and the workers: the e2e Redis and a queue of this session's own."""
    return Settings(_env_file=None, REDIS_URL=e2e_redis.url, queue_name=f"e2e-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def api_url(e2e_settings: Settings) -> Iterator[str]:
    """The base URL of a real uvicorn serving ``create_app(e2e_settings)``."""
    with ServerThread(create_app(e2e_settings), free_port()) as server:
        yield server.url


@pytest.fixture(scope="session")
def keyed_api_url(e2e_settings: Settings) -> Iterator[str]:
    """A second real uvicorn on the same Redis and queue, with the two :data:`API_KEYS`."""
    keys = Settings(_env_file=None, API_KEYS=",".join(API_KEYS)).api_keys
    with ServerThread(create_app(e2e_settings.model_copy(update={"api_keys": keys})), free_port()) as server:
        yield server.url


@pytest.fixture(scope="session")
def workers(e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list]:
    """N_WORKERS ``descent worker`` processes, registered with RQ before the first test uses them."""
    assert e2e_settings.redis_url is not None
    log_dir = tmp_path_factory.mktemp("workers")
    processes = [
        start_worker(e2e_settings.redis_url, e2e_settings.queue_name, Path(log_dir, f"worker-{i}.log"))
        for i in range(N_WORKERS)
    ]
    connection = Redis.from_url(e2e_settings.redis_url)
    queue = Queue(e2e_settings.queue_name, connection=connection)
    try:
        registered = lambda: Worker.count(connection=connection, queue=queue) == N_WORKERS  # noqa: E731
        wait_for(registered, 30, "workers to register")
        yield processes
    finally:
        for process in processes:
            stop_process(process)
        connection.close()


@pytest.fixture
def client(api_url: str, workers: list) -> Iterator[httpx.Client]:
    """An HTTP client of the API, with its workers running."""
    with httpx.Client(base_url=api_url, timeout=10) as http:
        yield http


@pytest.fixture
def idle_client(e2e_settings: Settings) -> Iterator[httpx.Client]:
    """An API with quick heartbeats on a queue no worker listens on, so its jobs stay queued."""
    settings = e2e_settings.model_copy(
        update={"queue_name": f"idle-{uuid.uuid4().hex[:12]}", "events_heartbeat_seconds": 0.2}
    )
    with (
        ServerThread(create_app(settings), free_port()) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        yield http
