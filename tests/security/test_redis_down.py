"""Redis down or stuck: every endpoint that needs it answers 503 JSON with Retry-After within 2 s (never
500, never a hang), /readyz says why, and the API recovers by itself once Redis is back (AOF: no job lost).

Each test runs its own redis-server (the suite's shared one is never stopped).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.config import Settings
from service.main import create_app
from tests.servers import RedisServer, start_redis

pytestmark = pytest.mark.timeout(60)

DEADLINE = 2.0
CSV = b"x1,x2,label\n0,1,0\n1,0.5,1\n2,-1,1\n-0.5,0.25,0\n"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path / "redis", aof=True)
    yield server
    if server.process is not None:
        os.kill(server.process.pid, signal.SIGCONT)  # in case a test stopped it with SIGSTOP
    server.stop()


@pytest.fixture
def app_client(own_redis: RedisServer, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"redis_url": own_redis.url}))) as client:
        yield client


def every_request(client: TestClient, ids: dict[str, str]) -> list[tuple[str, str, dict]]:
    """One request per documented operation but /healthz and /readyz, with real ids and valid bodies."""
    bodies = {
        ("POST", "/jobs"): {"json": {"epochs": 3}},
        ("POST", "/jobs/{job_id}/predict"): {"json": {"X": [[1.0], [2.0]]}},
        ("POST", "/datasets"): {"files": {"file": ("d.csv", CSV, "text/csv")}},
        ("GET", "/plots/costs"): {"params": {"job": ids["job_id"]}},
        ("POST", "/experiments"): {"json": {"base": {"epochs": 3}}},
    }
    requests = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        if path in ("/healthz", "/readyz"):
            continue
        for method in operations:
            kwargs = bodies.get((method.upper(), path), {})
            url = path
            for name, value in ids.items():
                url = url.replace(f"{{{name}}}", value)
            assert not re.search(r"\{", url), url
            requests.append((method.upper(), url, kwargs))
    assert len(requests) >= 10
    return requests


def assert_all_503_quickly(client: TestClient, requests: list[tuple[str, str, dict]]) -> float:
    """Every request is a 503 JSON error with Retry-After within DEADLINE s; the slowest time."""
    slowest = 0.0
    for method, url, kwargs in requests:
        started = time.monotonic()
        response = client.request(method, url, **kwargs)
        elapsed = time.monotonic() - started
        slowest = max(slowest, elapsed)
        assert response.status_code == 503, (method, url, response.status_code, response.text)
        assert elapsed < DEADLINE, (method, url, elapsed)
        assert int(response.headers["retry-after"]) >= 1
        assert "Redis" in response.json()["detail"]
    started = time.monotonic()
    ready = client.get("/readyz")
    assert time.monotonic() - started < DEADLINE
    assert ready.status_code == 503 and ready.headers["retry-after"]
    assert ready.json()["redis"] is False and ready.json()["detail"].startswith("Redis is unreachable")
    assert client.get("/healthz").status_code == 200 and client.get("/docs").status_code == 200
    return slowest


def seed(client: TestClient) -> dict[str, str]:
    """A dataset, a job and an experiment: the ids of the paths' parameters."""
    dataset = client.post("/datasets", files={"file": ("d.csv", CSV, "text/csv")})
    job = client.post("/jobs", json={"epochs": 3})
    experiment = client.post("/experiments", json={"base": {"epochs": 3}})
    assert dataset.status_code == 201 and job.status_code == 202 and experiment.status_code == 202
    return {
        "job_id": job.json()["id"],
        "dataset_id": dataset.json()["id"],
        "experiment_id": experiment.json()["id"],
    }


def test_redis_stopped_is_503_then_recovers_with_every_job(
    app_client: TestClient, own_redis: RedisServer
) -> None:
    ids = seed(app_client)
    job_id, dataset_id = ids["job_id"], ids["dataset_id"]
    requests = every_request(app_client, ids)
    own_redis.stop()
    slowest = assert_all_503_quickly(app_client, requests)
    print(f"Redis stopped: slowest 503 in {slowest * 1000:.0f} ms over {len(requests)} operations")
    own_redis.start()
    job = app_client.get(f"/jobs/{job_id}")  # the first request after the restart already works
    assert job.status_code == 200 and job.json()["status"] == "queued"
    assert app_client.get(f"/datasets/{dataset_id}").status_code == 200
    assert app_client.post("/jobs", json={"epochs": 3}).status_code == 202
    assert app_client.get("/jobs").json()["total"] == 2 + 3, (
        "the job, the experiment's 3 members, the new job"
    )


def test_redis_stuck_is_503_within_the_client_timeout(app_client: TestClient, own_redis: RedisServer) -> None:
    ids = seed(app_client)
    job_id = ids["job_id"]
    requests = every_request(app_client, ids)[:6]
    assert own_redis.process is not None
    os.kill(own_redis.process.pid, signal.SIGSTOP)  # accepts connections, never answers
    try:
        slowest = assert_all_503_quickly(app_client, requests)
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    print(f"Redis stuck: slowest 503 in {slowest * 1000:.0f} ms")
    assert slowest >= 0.5  # the read timeout (1 s) is what answered, not a refused connection
    assert app_client.get(f"/jobs/{job_id}").status_code == 200
