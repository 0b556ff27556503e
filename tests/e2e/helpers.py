"""Helpers of the end-to-end tests: deadlines for every wait, a uvicorn in a thread, worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

T = TypeVar("T")
FINISHED = ("succeeded", "failed", "canceled")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
    """The first truthy ``predicate()``; AssertionError naming ``what`` once ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class ServerThread:
    """A real uvicorn serving ``app`` on 127.0.0.1:``port`` in a thread (httpx's test-suite style)."""

    def __init__(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="uvicorn")
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_for(lambda: self.server.started, 10, "uvicorn to start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_worker(
    redis_url: str, queue_name: str, log_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """``python -m descent worker`` (RQ's pool with one worker process) on ``queue_name``, in a session of
    its own (``descent.embedded_redis.stop_process`` stops the pool and its worker; SIGKILL of the group is
    a machine lost), its output in ``log_path``, ``env`` added."""
    env = {**os.environ, **(env or {}), "REDIS_URL": redis_url, "DESCENT_QUEUE_NAME": queue_name}
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "descent", "worker", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def submit(client: httpx.Client, spec: dict[str, Any]) -> str:
    """POST /jobs; the new job's id (the answer must be 202 queued with a Location)."""
    response = client.post("/jobs", json=spec)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"].endswith(f"/jobs/{body['id']}")
    return body["id"]


def job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """GET /jobs/{id} (200)."""
    response = client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_status(client: httpx.Client, job_id: str, statuses: tuple[str, ...], timeout: float) -> dict:
    """The job once its status is one of ``statuses``."""

    def reached() -> dict[str, Any] | None:
        body = job(client, job_id)
        return body if body["status"] in statuses else None

    return wait_for(reached, timeout, f"job {job_id} to be {'/'.join(statuses)}")


def follow_costs(client: httpx.Client, job_id: str, timeout: float) -> tuple[list[dict[str, Any]], str, int]:
    """Poll ``/costs?since=`` until the job finishes: every point once, the final status, the poll count."""
    points: list[dict[str, Any]] = []
    since, polls = 0, 0
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/jobs/{job_id}/costs", params={"since": since})
        assert response.status_code == 200, response.text
        page = response.json()
        polls += 1
        assert all(p["epoch"] > since for p in page["points"])
        points += page["points"]
        since = page["next_since"]
        if page["status"] in FINISHED and not page["points"]:
            return points, page["status"], polls
        assert time.monotonic() < deadline, f"job {job_id} did not finish within {timeout} s"
        time.sleep(0.05)
