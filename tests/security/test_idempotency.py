"""Idempotency-Key on POST /jobs: a retry gets the same job; another body with the key is a 422; keys are
per owner; concurrent retries make one job; a failed first request frees its key."""

from __future__ import annotations

import threading

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from rq import Queue

from core.config import Settings
from service.main import create_app
from tests.e2e.helpers import ServerThread
from tests.security.conftest import KEY_A, KEY_B, bearer
from tests.servers import free_port

pytestmark = pytest.mark.timeout(60)


def post(client: TestClient, body: dict, key: str, **headers: str) -> httpx.Response:
    return client.post("/jobs", json=body, headers={"Idempotency-Key": key, **headers})


def test_a_retry_gets_the_same_job(client: TestClient, queue: Queue) -> None:
    first = post(client, {"epochs": 3}, "retry-1")
    assert first.status_code == 202 and "idempotent-replayed" not in first.headers
    again = post(client, {"epochs": 3, "seed": 10}, "retry-1")  # the same spec: seed 10 is the default
    assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert client.get("/jobs").json()["total"] == 1 and queue.count == 1
    other = post(client, {"epochs": 3}, "retry-2")
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def test_the_key_with_another_body_is_422(client: TestClient) -> None:
    assert post(client, {"epochs": 3}, "reused").status_code == 202
    response = post(client, {"epochs": 4}, "reused")
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["header", "Idempotency-Key"] and "different request body" in error["msg"]
    assert client.get("/jobs").json()["total"] == 1


def test_keys_are_per_owner(keyed_client: TestClient) -> None:
    a = post(keyed_client, {"epochs": 3}, "shared", **bearer(KEY_A))
    b = post(keyed_client, {"epochs": 3}, "shared", **bearer(KEY_B))
    assert a.status_code == b.status_code == 202 and a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers
    conflicting = post(keyed_client, {"epochs": 5}, "shared", **bearer(KEY_B))
    assert conflicting.status_code == 422


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
def test_a_malformed_key_is_422_naming_the_header(client: TestClient, key: str) -> None:
    response = post(client, {"epochs": 3}, key)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_the_key_is_remembered_with_a_ttl(client: TestClient, redis_client: redis.Redis) -> None:
    post(client, {"epochs": 3}, "ttl")
    (name,) = list(redis_client.scan_iter("descent:owner:public:idempotency:*"))
    assert b"ttl" not in name.rsplit(b":", 1)[1]  # stored as a digest, not the client's string
    assert 24 * 3600 - 60 <= redis_client.ttl(name) <= 24 * 3600


def test_concurrent_retries_make_one_job(settings: Settings, redis_client: redis.Redis) -> None:
    answers: list[httpx.Response] = []
    with ServerThread(create_app(settings), free_port()) as server:
        barrier = threading.Barrier(8)

        def retry() -> None:
            with httpx.Client(base_url=server.url, timeout=10) as http:
                barrier.wait(5)
                answers.append(http.post("/jobs", json={"epochs": 3}, headers={"Idempotency-Key": "race"}))

        threads = [threading.Thread(target=retry) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        listing = httpx.get(f"{server.url}/jobs", timeout=5).json()
    assert len(answers) == 8 and {r.status_code for r in answers} == {202}
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum("idempotent-replayed" in r.headers for r in answers) == 7
    assert listing["total"] == 1


def test_a_refused_first_request_frees_the_key(settings: Settings, redis_client: redis.Redis) -> None:
    with TestClient(create_app(settings.model_copy(update={"max_queued_jobs": 1}))) as client:
        blocker = client.post("/jobs", json={"epochs": 3}).json()["id"]
        assert post(client, {"epochs": 7}, "after-503").status_code == 503
        client.delete(f"/jobs/{blocker}")
        retried = post(client, {"epochs": 7}, "after-503")
        assert retried.status_code == 202 and "idempotent-replayed" not in retried.headers
