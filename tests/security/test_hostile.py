"""Issue 15's hostile requests against a real API process: each refused fast, with bounded memory.

The API is ``uvicorn service.main:create_app`` in a process of its own (so its memory is its own) on a
redis-server of this module's own, with the default caps and no upload rate limit. Memory is measured as
the growth of the peak RSS (``VmHWM``, reset through ``/proc/PID/clear_refs`` before each request) of the
API and of its parser processes, and as the growth of Redis's ``used_memory``; a hostile request's is
under 100 MB for the API and its parsers together, and under 1 MB for Redis.

Findings covered here: 1 (a 340 KB .npz of 20M zeros), 2 (the 20000 × 20000 zip bomb), 3 (a 503 stores
nothing: Redis pausing writes with ``CLIENT PAUSE … WRITE`` makes the publish outlast the client's
timeout, and ``DEBUG SLEEP`` at every point of uploads keeps "201 ⇔ listed"), 4 (a 10M-column CSV; a
20000-feature dataset lists in a few hundred bytes), 7 (a 32 MB predict body, 32 MB of inline data),
8 (10M short lines; a CSV at the values cap parses while /healthz answers), 9 (a .npy header claiming
(10⁶, 10⁶)), and a write refused for memory (a 507 saying why).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
import redis

from bench import hostile_files as hostile
from tests.e2e.helpers import wait_for
from tests.servers import RedisServer, free_port, start_redis

pytestmark = pytest.mark.timeout(120)

MB = 1024 * 1024
FAST = 1.0
"""Seconds within which a hostile request is refused (issue 15)."""


@dataclass
class Api:
    """The API process, its URL and its Redis."""

    process: subprocess.Popen
    url: str
    redis_server: RedisServer
    redis: redis.Redis
    http: httpx.Client

    def processes(self) -> list[psutil.Process]:
        """The API process and its parser processes."""
        api = psutil.Process(self.process.pid)
        return [api, *api.children(recursive=True)]

    def datasets(self) -> int:
        return self.http.get("/datasets").json()["total"]

    def dataset_keys(self) -> list[bytes]:
        """Every key of a dataset but the marks of abandoned publishes and the data of publishes that never
        came, which no reader sees and which expire within 60 s."""
        keys = self.redis.keys("descent:dataset:*")
        hidden = [k for k in keys if k.endswith((b":abandoned", b":pending"))]
        assert all(0 < self.redis.ttl(k) <= 60 for k in hidden)
        return sorted(set(keys) - set(hidden))


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


@dataclass
class Measured:
    response: httpx.Response
    seconds: float
    api_growth: int
    """Bytes the API process's peak RSS grew by."""
    parser_growth: int
    """Bytes its parser processes' peak RSS grew by, summed."""
    redis_growth: int


def measure(api: Api, send: Callable[[], httpx.Response]) -> Measured:
    """Send one request; its answer, its time, the growth of the peak RSS of the API and of its parsers,
    and of Redis's used_memory."""
    processes = api.processes()
    for process in processes:
        Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = {p.pid: status_kb(p.pid, "VmRSS") for p in processes}
    used = int(api.redis.info("memory")["used_memory"])
    started = time.monotonic()
    response = send()
    seconds = time.monotonic() - started
    growth = {
        pid: (status_kb(pid, "VmHWM") - kb) * 1024 for pid, kb in before.items() if psutil.pid_exists(pid)
    }
    api_growth = growth.pop(api.process.pid)
    redis_growth = int(api.redis.info("memory")["used_memory"]) - used
    return Measured(response, seconds, api_growth, sum(growth.values()), redis_growth)


def upload(api: Api, name: str, data: bytes) -> httpx.Response:
    return api.http.post("/datasets", files={"file": (name, data, "application/octet-stream")})


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("hostile")
    server = start_redis(folder / "redis")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DESCENT_REDIS_URL", "API_KEYS")}
    env |= {
        "REDIS_URL": server.url,
        "DESCENT_QUEUE_NAME": f"hostile-{uuid.uuid4().hex[:8]}",
        "DESCENT_RATE_LIMIT_UPLOADS_PER_MINUTE": "0",
        "DESCENT_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory", "--no-access-log"]
    with open(folder / "api.log", "wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder
        )
    client = redis.Redis.from_url(server.url)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:

        def healthy() -> bool:
            try:
                return http.get("/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 30, "the API to start")
        running = Api(process, f"http://127.0.0.1:{port}", server, client, http)
        assert upload(running, "warm.csv", b"1,2,0\n3,4,1\n").status_code == 201  # a parser runs
        yield running
    finally:
        http.close()
        process.terminate()
        process.wait(15)
        client.close()
        server.stop()


def assert_refused_fast_and_small(measured: Measured, status: int, words: str) -> None:
    response = measured.response
    assert response.status_code == status and words in response.text, response.text
    assert measured.seconds < FAST, measured.seconds
    assert measured.api_growth + measured.parser_growth < 100 * MB, measured
    assert measured.redis_growth < 1 * MB, measured.redis_growth


@pytest.mark.parametrize(
    ("finding", "name", "build", "words"),
    [
        (1, "tiny.npz", hostile.tiny_huge_npz, "40000000 numbers, over the cap max_dataset_values"),
        (2, "bomb.npz", hostile.zip_bomb, "400020000 numbers, over the cap max_dataset_values"),
        (9, "huge.npy", hostile.lying_npy, "999999 features, over the cap max_features = 20000"),
        (4, "wide.csv", hostile.wide_csv, "over the cap max_dataset_values = 5000000"),
        (8, "long.csv", hostile.long_csv, "over the cap max_dataset_values = 5000000"),
    ],
)
def test_hostile_uploads_are_refused_fast_and_small(
    api: Api, finding: int, name: str, build: Callable[[], bytes], words: str
) -> None:
    data = build()
    datasets = api.datasets()
    measured = measure(api, lambda: upload(api, name, data))
    print(f"finding {finding}: {name} ({len(data)} bytes) {measured}")
    assert_refused_fast_and_small(measured, 413, words)
    assert api.datasets() == datasets


def test_a_wide_dataset_is_refused_by_its_features_and_listed_small(api: Api) -> None:
    too_wide = b"0," * 20_001 + b"1\n"
    refused = measure(api, lambda: upload(api, "wide.csv", too_wide * 2))
    assert_refused_fast_and_small(refused, 413, "20001 features, over the cap max_features = 20000")
    widest = np.zeros((3, 20_001))
    widest[:, -1] = [0, 1, 0]
    stored = upload(
        api,
        "widest.csv",
        "\n".join(",".join("0" for _ in row[:-1]) + f",{int(row[-1])}" for row in widest).encode(),
    )
    assert stored.status_code == 201 and stored.json()["summary"]["features_summarized"] == 100
    listing = api.http.get("/datasets", params={"limit": 2})
    assert listing.status_code == 200 and len(listing.content) < 1000
    assert api.http.delete(f"/datasets/{stored.json()['id']}").status_code == 204


def test_a_csv_at_the_values_cap_parses_off_the_event_loop(api: Api) -> None:
    data = b"0.5,1\n" * 2_499_999 + b"0.25,0\n"  # 5,000,000 numbers: the cap
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=api.url, timeout=30) as http:
            while not done.is_set():
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        measured = measure(api, lambda: upload(api, "cap.csv", data))
    finally:
        done.set()
        poller.join()
    print(f"finding 8: {len(data)} bytes in {measured.seconds:.2f} s, /healthz max {max(latencies):.3f} s")
    body = measured.response.json()
    assert measured.response.status_code == 201 and (body["n_features"], body["n_examples"]) == (1, 2_500_000)
    assert body["bytes"] <= 5_000_000 * 8 + 1024
    assert len(latencies) >= 5 and max(latencies) < 1.0, latencies
    assert measured.api_growth < 100 * MB, measured  # the file and its parse stay out of the API
    bad_last_line = upload(api, "bad.csv", data[:-7] + b"0.25,x\n")
    assert bad_last_line.status_code == 422 and "row 2499999" in bad_last_line.text
    assert api.http.delete(f"/datasets/{body['id']}").status_code == 204


@pytest.mark.parametrize(
    ("path", "build"),
    [
        ("/jobs/" + "0" * 32 + "/predict", hostile.predict_body),
        ("/jobs", lambda: hostile.inline_job_body(8_000_000)),
    ],
    ids=["predict", "inline"],
)
def test_a_32_mb_body_of_numbers_is_refused_before_it_is_parsed(
    api: Api, path: str, build: Callable[[], bytes]
) -> None:
    body = build()
    assert 30 * MB < len(body) < 32 * MB
    headers = {"Content-Type": "application/json"}
    measured = measure(api, lambda: api.http.post(path, content=body, headers=headers))
    print(f"finding 7: {path} ({len(body)} bytes) {measured}")
    assert_refused_fast_and_small(measured, 413, "over the cap max_inline_values = 1000000")


def test_a_publish_that_outlasts_the_client_stores_nothing(api: Api) -> None:
    before, keys = api.datasets(), api.dataset_keys()
    api.redis.execute_command("CLIENT", "PAUSE", 2500, "WRITE")  # reads answer; the publish waits
    started = time.monotonic()
    response = upload(api, "paused.csv", b"1,2,0\n3,4,1\n")
    assert response.status_code == 503 and "Redis" in response.text, response.text
    assert time.monotonic() - started < 2.0
    time.sleep(max(0.0, 2.7 - (time.monotonic() - started)))  # Redis now runs the write it held
    assert api.datasets() == before and api.dataset_keys() == keys
    assert upload(api, "after.csv", b"1,2,0\n3,4,1\n").status_code == 201


def test_debug_sleep_at_any_point_of_an_upload_keeps_201_iff_listed(api: Api) -> None:
    sleeper = redis.Redis.from_url(api.redis_server.url)
    before, answers = api.datasets(), []
    data = b"1,2,0\n" * 20_000
    try:
        for offset in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
            timer = threading.Timer(offset, lambda: sleeper.execute_command("DEBUG", "SLEEP", "1.3"))
            timer.start()
            answers.append(upload(api, "sleepy.csv", data).status_code)
            timer.join()
            wait_for(lambda: sleeper.ping(), 5, "Redis to wake")
    finally:
        sleeper.close()
    print(f"finding 3: answers {answers}")
    assert set(answers) <= {201, 503} and 503 in answers
    assert api.datasets() == before + answers.count(201)
    assert len([k for k in api.dataset_keys() if k.endswith(b":data")]) == api.datasets()


def test_a_write_refused_for_memory_is_a_507_saying_why(api: Api) -> None:
    before, keys = api.datasets(), api.dataset_keys()
    pending = set(api.redis.keys("descent:dataset:*:pending"))  # earlier tests' 503s may leave some (60 s)
    used = int(api.redis.info("memory")["used_memory"])
    api.redis.config_set("maxmemory", used + 200_000)
    try:
        response = upload(api, "big.csv", b"0.5,1\n" * 50_000)  # 800 KB stored
    finally:
        api.redis.config_set("maxmemory", 0)
    assert response.status_code == 507, response.text
    assert "Redis) is full" in response.json()["detail"] and int(response.headers["retry-after"]) >= 1
    assert api.datasets() == before and api.dataset_keys() == keys
    assert set(api.redis.keys("descent:dataset:*:pending")) <= pending  # what this one wrote is gone
