"""The refusal limit: a client whose POST, PUT or PATCH requests were answered 400, 413, 415 or 422
``max_refusals_per_minute`` times gets a 429 for each such request until the minute ends, before its body
is read; its reads, other clients and public paths do not."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from core.store import JobStore
from service.auth import owner_of
from service.main import create_app
from service.refusals import HOLD_SECONDS, client_of
from tests.e2e.helpers import ServerThread
from tests.security.conftest import KEY_A, KEY_B, bearer
from tests.servers import free_port

pytestmark = pytest.mark.timeout(60)

LIMIT = 3


@pytest.fixture
def limited(keyed_settings: Settings) -> Settings:
    return keyed_settings.model_copy(update={"max_refusals_per_minute": LIMIT, "max_body_bytes": 4096})


def refuse_three_ways(client: httpx.Client, key: str) -> None:
    """One 422 (a bad field), one 413 (a body over the cap), one 400 (not JSON)."""
    assert client.post("/jobs", json={"epochs": -1}, headers=bearer(key)).status_code == 422
    assert client.post("/jobs", content=b"[" + b"0," * 4096 + b"0]", headers=bearer(key)).status_code == 413
    headers = {**bearer(key), "Content-Type": "application/json"}
    assert client.post("/jobs", content=b"{not json", headers=headers).status_code == 400


def test_a_client_refused_too_often_gets_429_until_the_minute_ends(
    limited: Settings, store: JobStore
) -> None:
    with TestClient(create_app(limited)) as client:
        refuse_three_ways(client, KEY_A)
        started = time.monotonic()
        answer = client.post("/jobs", json={"epochs": 3}, headers=bearer(KEY_A))  # a good job, now refused
        assert time.monotonic() - started >= HOLD_SECONDS, "held before its answer"
        assert answer.status_code == 429
        assert "max_refusals_per_minute" in answer.json()["detail"]
        assert 1 <= int(answer.headers["retry-after"]) <= 60
        assert answer.headers["connection"] == "close"
        assert client.get("/jobs", headers=bearer(KEY_A)).status_code == 200  # its reads go on
        assert store.redis.zcard(store.keys.owner_jobs(owner_of(KEY_A))) == 0  # the good job was not stored
        # the other key has a budget of its own
        assert client.post("/jobs", json={"epochs": 3}, headers=bearer(KEY_B)).status_code == 202


def test_reads_and_other_answers_do_not_count(limited: Settings, redis_client: redis.Redis) -> None:
    with TestClient(create_app(limited)) as client:
        for _ in range(2 * LIMIT):
            assert client.get("/jobs/" + "0" * 32, headers=bearer(KEY_A)).status_code == 404
            assert client.get("/jobs?limit=0", headers=bearer(KEY_A)).status_code == 422  # a read's 422
            missing = client.post(
                "/jobs/" + "0" * 32 + "/predict", json={"rows": [[0, 0]]}, headers=bearer(KEY_A)
            )
            assert missing.status_code == 404  # a POST's answer that is no refusal
        assert client.post("/jobs", json={"epochs": 3}, headers=bearer(KEY_A)).status_code == 202


def test_zero_turns_it_off(limited: Settings, redis_client: redis.Redis) -> None:
    with TestClient(create_app(limited.model_copy(update={"max_refusals_per_minute": 0}))) as client:
        for _ in range(2 * LIMIT):
            assert client.post("/jobs", json={"epochs": -1}, headers=bearer(KEY_A)).status_code == 422


def test_without_keys_clients_are_told_apart_by_address() -> None:
    public = {"type": "http", "state": {"owner": "public"}, "client": ("10.0.0.7", 5123)}
    assert client_of(public) == "address:10.0.0.7"
    assert client_of({**public, "client": None}) == "address:unknown"
    assert client_of({**public, "state": {"owner": "key-abc"}}) == "key-abc"


@pytest.fixture
def server(limited: Settings, redis_client: redis.Redis) -> Iterator[ServerThread]:
    with ServerThread(create_app(limited), free_port()) as running:
        yield running


def test_the_429_comes_before_the_body_is_sent(server: ServerThread) -> None:
    """Once over the limit, a request whose 1 MB body is never sent is answered after the hold alone:
    nothing waits for the body (a read of it would block until the 2 s socket timeout)."""
    with httpx.Client(base_url=server.url) as client:
        refuse_three_ways(client, KEY_A)
    host, port = server.url.removeprefix("http://").split(":")
    head = (
        f"POST /jobs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {KEY_A}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        sock.sendall(head.encode())
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
    assert b"max_refusals_per_minute" in answer
