"""Operations end to end: one `descent serve` with 2 uvicorn processes, 2 workers, an embedded Redis and
``DESCENT_LOG_FORMAT=json``; its ``/metrics`` adds up both API processes and what the workers did, and
one job can be followed through the JSON logs by its id, from the API to the worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.helpers import submit, wait_for, wait_status
from tests.servers import free_port

pytestmark = pytest.mark.e2e

JOBS = 4
SPEC = {"optimizer": {"name": "adam"}, "epochs": 300, "record_every": 100}


@dataclass
class Serve:
    process: subprocess.Popen
    url: str
    log: Path

    def lines(self) -> list[dict]:
        """Every line the run wrote, each parsed as JSON (a line that is not JSON fails the test)."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    folder = tmp_path_factory.mktemp("operations")
    port, log = free_port(), folder / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DESCENT_REDIS_URL")}
    env["DESCENT_LOG_FORMAT"] = "json"
    command = [
        sys.executable, "-m", "descent", "serve", "--port", str(port), "--data-dir", str(folder / "data"),
        "--api-processes", "2", "--workers", "2",
    ]  # fmt: skip
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _workers_ready(url), 60, "/readyz with 2 workers")
        yield Serve(process, url, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(20) == 0
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


def _workers_ready(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/readyz", timeout=1)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json()["workers"] == 2


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` parsed by prometheus-client's parser: (name, sorted labels) -> value."""
    response = httpx.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests(metrics: dict, method: str, route: str, status: str) -> float:
    return metrics.get(
        ("descent_http_requests_total", (("method", method), ("route", route), ("status", status))), 0
    )


def test_metrics_add_up_two_api_processes_and_two_workers(serve: Serve) -> None:
    before = scrape(serve.url)
    ids, polls = [], 0
    for _ in range(JOBS):  # a new connection a request: the kernel spreads them over both processes
        with httpx.Client(base_url=serve.url, timeout=10) as client:
            ids.append(submit(client, SPEC))
    results = []
    for job_id in ids:
        with httpx.Client(base_url=serve.url, timeout=10) as client:
            results.append(wait_status(client, job_id, ("succeeded",), 60)["result"])
    after = scrape(serve.url)
    polls = requests(after, "GET", "/jobs/{job_id}", "200") - requests(before, "GET", "/jobs/{job_id}", "200")

    assert after[("descent_api_processes", ())] == 2
    assert requests(after, "POST", "/jobs", "202") - requests(before, "POST", "/jobs", "202") == JOBS
    assert polls >= JOBS  # wait_status polled each job at least once; the exact count is the histogram's
    latency = (
        "descent_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/jobs/{job_id}")),
    )
    assert after[latency] - before.get(latency, 0) == polls

    def delta(name: str, labels: tuple = ()) -> float:
        return after[(name, labels)] - before.get((name, labels), 0)

    assert delta("descent_jobs_finished_total", (("status", "succeeded"),)) == JOBS
    assert delta("descent_worker_runs_total", (("outcome", "succeeded"),)) == JOBS
    assert delta("descent_worker_runs_total", (("outcome", "handed_back"),)) == 0
    assert (
        delta("descent_training_steps_total") == sum(result["steps"] for result in results) == JOBS * 300 * 5
    )
    assert after[("descent_jobs", (("status", "queued"),))] == 0
    assert after[("descent_jobs", (("status", "running"),))] == 0
    assert after[("descent_queue_depth", ())] == 0
    assert after[("descent_workers", ())] == 2
    assert after[("descent_redis_up", ())] == 1
    assert after[("descent_sse_subscribers", ())] == 0


def test_one_job_is_followed_through_the_json_logs_from_the_api_to_the_worker(serve: Serve) -> None:
    with httpx.Client(base_url=serve.url, timeout=10) as client:
        response = client.post("/jobs", json=SPEC, headers={"X-Request-ID": "follow-me-1"})
        assert response.status_code == 202 and response.headers["x-request-id"] == "follow-me-1"
        job_id = response.json()["id"]
        wait_status(client, job_id, ("succeeded",), 60)
        poll = client.get(f"/jobs/{job_id}", headers={"X-Request-ID": "follow-me-2"})
        assert poll.headers["x-request-id"] == "follow-me-2"

    def trail() -> list[dict]:
        lines = [line for line in serve.lines() if line["job_id"] == job_id]
        return lines if any(line["request_id"] == "follow-me-2" for line in lines) else []

    lines = wait_for(trail, 10, "the poll's access line")  # uvicorn logs it as the response goes out
    messages = [(line["logger"], line["message"]) for line in lines]
    (queued,) = [line for line in lines if line["logger"] == "core.queue"]  # the API's, while answering
    assert queued["message"] == f"job {job_id}: queued" and queued["request_id"] == "follow-me-1"
    worker = [line for line in lines if line["logger"] == "worker.tasks"]
    assert [line["message"].split(":")[1].split()[0] for line in worker] == ["running", "succeeded"], messages
    assert worker[-1]["message"].startswith(f"job {job_id}: succeeded: accuracy ")
    assert {line["process"] for line in worker}.isdisjoint({queued["process"]})  # another process: a worker
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access and all(f"GET /jobs/{job_id} " in line["message"] for line in access)  # the polls
    assert len({line["request_id"] for line in access}) == len(access)  # a request id each
    assert any(line["request_id"] == "follow-me-2" for line in access)
    for line in serve.lines():
        assert {"time", "level", "logger", "message", "process", "request_id", "job_id"} <= line.keys()
        assert "Job OK" not in line["message"] and "Successfully completed" not in line["message"]
