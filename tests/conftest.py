"""Suite-wide fixtures: a real redis-server for the session, a clean client and settings per test, and a
redis-server with AOF of a test's own for the tests that kill and restart it. At the end, a check that no
process the suite started is still alive (``tests.leftovers``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue

from core.config import Settings
from core.queue import JobQueue, rq_queue
from core.store import JobStore, connect
from service.main import create_app
from tests.leftovers import leftover_processes, mark_session
from tests.servers import RedisServer, start_redis

mark_session()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a process the suite started outlives it (and kill it)."""
    left = leftover_processes()
    if left:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "processes started by the suite are still alive (killed now):\n  " + "\n  ".join(left), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server started for this test session on a free port, stopped at the end."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the session's Redis, emptied before the test."""
    client = connect(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    """Settings pointing at the session's Redis, with a queue of the test's own."""
    return Settings(_env_file=None, REDIS_URL=redis_server.url, queue_name=f"test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(redis_client: redis.Redis, settings: Settings) -> JobStore:
    """The job store on the clean Redis."""
    return JobStore(redis_client, settings)


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server with AOF for this test alone (fault tests kill and restart it)."""
    server = start_redis(tmp_path / "redis", aof=True)
    yield server
    server.stop()


@pytest.fixture
def fault_settings(aof_redis: RedisServer) -> Settings:
    return Settings(_env_file=None, REDIS_URL=aof_redis.url, queue_name=f"f-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def fault_store(fault_settings: Settings) -> Iterator[JobStore]:
    assert fault_settings.redis_url is not None
    client = connect(fault_settings.redis_url)
    yield JobStore(client, fault_settings)
    client.close()


@pytest.fixture
def client(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    """A TestClient of ``create_app(settings)`` (no keys: everyone is ``public``); Redis is emptied first."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def queue(settings: Settings, redis_client: redis.Redis) -> Queue:
    """The RQ queue the app enqueues on."""
    return rq_queue(redis_client, settings)


@pytest.fixture
def jobs(store: JobStore, queue: Queue, settings: Settings) -> JobQueue:
    """What the API and the workers submit, hand back and withdraw jobs with."""
    return JobQueue(store, queue, settings)
