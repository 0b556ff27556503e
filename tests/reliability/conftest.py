"""Fault tests: a redis-server with AOF of each test's own (the tests kill and restart it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings
from service.store import JobStore, connect
from tests.servers import RedisServer, start_redis


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server with AOF for this test alone."""
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
