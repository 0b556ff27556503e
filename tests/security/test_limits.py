"""Limits: 413 for a body over its cap before it is read, 429 over the submission rate, 503 when the
queue is full; each refusal says the cap, the 429 and 503 with Retry-After."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from service.main import create_app
from tests.e2e.helpers import ServerThread
from tests.security.conftest import KEY_A, KEY_B, bearer
from tests.servers import free_port

pytestmark = pytest.mark.timeout(60)

BODY_CAP, UPLOAD_CAP = 4096, 8192


@pytest.fixture
def capped(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": BODY_CAP, "max_upload_bytes": UPLOAD_CAP})


@pytest.fixture
def server(capped: Settings, redis_client: redis.Redis) -> Iterator[ServerThread]:
    """A real uvicorn serving the capped app (raw sockets can lie about Content-Length)."""
    with ServerThread(create_app(capped), free_port()) as running:
        yield running


def raw_request(server: ServerThread, head: str, body_parts: list[bytes], pause: float = 0.0) -> bytes:
    """Send ``head`` and the parts (``pause`` s apart) on one connection; the server's answer (head and
    JSON body), each read with a 2 s deadline, while the client's side is still open."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        sock.sendall(head.encode())
        for part in body_parts:
            time.sleep(pause)
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):  # the JSON error body
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer


def test_content_length_over_the_cap_is_413_before_the_body(server: ServerThread) -> None:
    for path, cap in (("/jobs", BODY_CAP), ("/jobs/" + "a" * 32 + "/predict", BODY_CAP)):
        head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        head += "Content-Length: 1000000000\r\n\r\n"
        started = time.monotonic()
        answer = raw_request(server, head, [b"{"])  # one byte of a gigabyte: the server never waits
        assert time.monotonic() - started < 2
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert f"cap of {cap} bytes".encode() in answer and b'{"detail":' in answer


def test_upload_cap_applies_to_dataset_bodies(server: ServerThread) -> None:
    head = "POST /datasets HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    head += f"Content-Length: {UPLOAD_CAP + 70_000}\r\n\r\n"
    answer = raw_request(server, head, [b"--x\r\n"])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert str(UPLOAD_CAP + 64 * 1024).encode() in answer


@pytest.mark.parametrize(
    ("path", "content_type", "cap"),
    [
        ("/jobs", "application/json", BODY_CAP),
        ("/datasets", "multipart/form-data; boundary=x", UPLOAD_CAP + 64 * 1024),
    ],
)
def test_a_chunked_body_is_cut_at_the_cap(
    server: ServerThread, path: str, content_type: str, cap: int
) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n"
    first = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    chunks = [first] + [b"0," * 0x2000] * (cap // 0x4000 + 3)  # no final 0-chunk is ever sent
    started = time.monotonic()
    answer = raw_request(server, head, [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks], pause=0.05)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert time.monotonic() - started < 3 and f"cap of {cap}".encode() in answer


def test_a_body_under_the_cap_is_read(capped: Settings, redis_client: redis.Redis) -> None:
    with TestClient(create_app(capped)) as client:
        assert client.post("/jobs", json={"epochs": 3, "seed": 1}).status_code == 202
        response = client.post("/jobs", content=b"{" + b" " * BODY_CAP + b"}")
        assert response.status_code == 413 and str(BODY_CAP) in response.json()["detail"]
        assert client.post("/jobs", content=b"1", headers={"Content-Length": "x"}).status_code == 400


def fresh_window(margin: float = 5.0) -> None:
    """Sleep into the next minute if this one ends within ``margin`` seconds (fixed-window counters)."""
    rest = 60 - time.time() % 60
    if rest < margin:
        time.sleep(rest + 0.05)


def test_submissions_over_the_rate_are_429_per_key(
    keyed_settings: Settings, redis_client: redis.Redis
) -> None:
    limited = keyed_settings.model_copy(update={"rate_limit_jobs_per_minute": 3})
    fresh_window()
    with TestClient(create_app(limited)) as client:
        first = client.post("/jobs", json={"epochs": 3}, headers={**bearer(KEY_A), "Idempotency-Key": "k1"})
        assert first.status_code == 202
        for _ in range(2):
            assert client.post("/jobs", json={"epochs": 3}, headers=bearer(KEY_A)).status_code == 202
        refused = client.post("/jobs", json={"epochs": 3}, headers=bearer(KEY_A))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "3 job submissions per minute" in refused.json()["detail"]
        assert client.get("/jobs", headers=bearer(KEY_A)).json()["total"] == 3
        # another key has its own budget; a retry of an accepted job is not a new submission
        assert client.post("/jobs", json={"epochs": 3}, headers=bearer(KEY_B)).status_code == 202
        again = client.post("/jobs", json={"epochs": 3}, headers={**bearer(KEY_A), "Idempotency-Key": "k1"})
        assert again.status_code == 202 and again.json()["id"] == first.json()["id"]


def test_a_full_queue_is_503_until_it_drains(settings: Settings, redis_client: redis.Redis) -> None:
    small = settings.model_copy(update={"max_queued_jobs": 2})
    with TestClient(create_app(small)) as client:
        ids = [client.post("/jobs", json={"epochs": 3}).json()["id"] for _ in range(2)]
        refused = client.post("/jobs", json={"epochs": 3})
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
        assert "queue is full (2 jobs waiting" in refused.json()["detail"]
        assert client.get("/jobs").json()["total"] == 2
        assert client.delete(f"/jobs/{ids[0]}").json()["status"] == "canceled"
        assert client.post("/jobs", json={"epochs": 3}).status_code == 202
