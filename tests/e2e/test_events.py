"""Live events through the real service (uvicorn, RQ workers, Redis): a curve arriving while the job
trains, a client that drops mid-run and resumes with Last-Event-ID, heartbeats, and the end of the stream
on a terminal status (succeeded or canceled)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.helpers import submit
from tests.sse import Sse, assert_contiguous, parse_sse, read_then_cancel

pytestmark = pytest.mark.e2e

JOB = {"optimizer": {"name": "adam"}, "epochs": 4000, "record_every": 20}


def read(client: httpx.Client, job_id: str, stop_after: int | None = None, **headers: str) -> list[Sse]:
    """The job's events until the stream ends (or, given ``stop_after``, after that id's event: then hang
    up)."""
    lines: list[str] = []
    with client.stream("GET", f"/jobs/{job_id}/events", headers=headers, timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            lines.append(line)
            if not line and f"id: {stop_after}" in lines:
                break
    return parse_sse(lines)[0]


def test_a_curve_arrives_while_the_job_trains_and_the_stream_ends_with_it(client: httpx.Client) -> None:
    job_id = submit(client, JOB)
    lines: list[str] = []
    status_at_first_point = None
    with client.stream("GET", f"/jobs/{job_id}/events", timeout=30) as response:
        for line in response.iter_lines():
            lines.append(line)
            if line == "event: point" and status_at_first_point is None:
                status_at_first_point = client.get(f"/jobs/{job_id}").json()["status"]
    assert status_at_first_point == "running", "points arrive while the job trains, not at its end"
    events, _ = parse_sse(lines)
    assert_contiguous(events)
    assert [e.data["status"] for e in events if e.event == "status"] == ["queued", "running", "succeeded"]
    job = client.get(f"/jobs/{job_id}").json()
    costs = client.get(f"/jobs/{job_id}/costs", params={"limit": 10_000}).json()["points"]
    assert [e.data for e in events if e.event == "point"] == costs
    assert events[-1].data["result"] == job["result"]


def test_a_client_that_drops_mid_run_resumes_with_nothing_missed_or_repeated(client: httpx.Client) -> None:
    job_id = submit(client, JOB)
    first = read(client, job_id, stop_after=12)
    assert first[-1].id == 12 and "succeeded" not in [e.data.get("status") for e in first]
    time.sleep(0.3)  # the job goes on while this client is away
    rest = read(client, job_id, **{"Last-Event-ID": "12"})
    assert_contiguous(first + rest)
    assert rest[-1].data["status"] == "succeeded"
    assert first + rest == read(client, job_id), "the same events as one uninterrupted stream"
    again = client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": str(rest[-1].id)})
    assert again.status_code == 204, "a client with everything is told to stop reconnecting"


def test_an_idle_stream_gets_heartbeats_and_ends_when_the_job_is_canceled(idle_client: httpx.Client) -> None:
    job_id = submit(idle_client, {"epochs": 50})
    events, comments = read_then_cancel(idle_client, f"/jobs/{job_id}/events", f"/jobs/{job_id}")
    assert comments >= 3
    assert [e.data for e in events] == [{"status": "queued"}, {"status": "canceled"}]
