"""API fixtures: the app on the session's real Redis (no workers), and its RQ queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue
from rq.serializers import JSONSerializer

from service.config import Settings
from service.main import create_app


@pytest.fixture
def client(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    """A TestClient of ``create_app(settings)``; Redis is emptied first (``redis_client``)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def queue(settings: Settings, redis_client: redis.Redis) -> Queue:
    """The RQ queue the app enqueues on."""
    return Queue(settings.queue_name, connection=redis_client, serializer=JSONSerializer)
