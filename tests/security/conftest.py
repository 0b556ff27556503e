"""Security fixtures: the app with two API keys on the session's Redis, and a header per key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from service.main import create_app

KEY_A = "alice-0123456789abcdef"
KEY_B = "bob-fedcba9876543210"


def bearer(key: str) -> dict[str, str]:
    """The Authorization header of ``key``."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keyed_settings(settings: Settings) -> Settings:
    """The test's settings with API keys A and B."""
    return settings.model_copy(
        update={"api_keys": Settings(_env_file=None, API_KEYS=f"{KEY_A},{KEY_B}").api_keys}
    )


@pytest.fixture
def keyed_client(keyed_settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    """A TestClient of the app with keys A and B; Redis is emptied first. Sends no key by itself."""
    with TestClient(create_app(keyed_settings)) as client:
        yield client
