"""GET /jobs/{id}/events on a job the test writes as a worker would: the whole story, resuming with
Last-Event-ID at every id, the end after the terminal status, gaps where events were trimmed, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from core.store import JobStore
from service.main import create_app
from tests.sse import Sse, assert_contiguous, parse_sse
from trainer.network import initialize_parameters

POINTS = [(epoch, 1.0 / epoch) for epoch in range(1, 301, 10)]


def finished_job(client: TestClient, store: JobStore, points: list[tuple[int, float]] = POINTS) -> str:
    """A job submitted through the API, then run by hand as a worker runs it: started, its points in
    three flushes with their progress, a NaN cost, and succeeded."""
    job_id = client.post("/jobs", json={"epochs": 300}).json()["id"]
    assert store.start_run(job_id, "run", rq_job=job_id)
    third = len(points) // 3
    for chunk in (points[:third], points[third : 2 * third], points[2 * third :]):
        store.append_costs(job_id, chunk, epoch=chunk[-1][0])
    store.append_costs(job_id, [(301, float("nan"))], epoch=301)
    assert store.succeed(job_id, {"accuracy": 0.9, "final_cost": 0.01}, initialize_parameters((2, 3, 1), 1))
    return job_id


def stream(client: TestClient, job_id: str, **headers: str) -> tuple[list[Sse], int]:
    response = client.get(f"/jobs/{job_id}/events", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    return parse_sse(response.text.splitlines())


def test_a_stream_tells_the_whole_story_and_ends_after_the_terminal_status(
    client: TestClient, store: JobStore
) -> None:
    job_id = finished_job(client, store)
    events, _ = stream(client, job_id)
    assert_contiguous(events)
    assert [e.data for e in events if e.event == "status"] == [
        {"status": "queued"},
        {"status": "running"},
        {"status": "succeeded", "result": {"accuracy": 0.9, "final_cost": 0.01}},
    ]
    assert events[-1].event == "status", "the terminal status is the last event"
    points = [(e.data["epoch"], e.data["cost"]) for e in events if e.event == "point"]
    assert points == [*POINTS, (301, None)], "every point once, in order; a NaN cost is null"
    progress = [e.data for e in events if e.event == "progress"]
    assert progress == [{"epoch": epoch, "epochs": 300} for epoch in (91, 191, 291, 301)]


def test_last_event_id_resumes_with_exactly_what_was_missed(client: TestClient, store: JobStore) -> None:
    job_id = finished_job(client, store)
    full, _ = stream(client, job_id)
    for seen in range(len(full)):
        resumed, _ = stream(client, job_id, **{"Last-Event-ID": str(seen)})
        assert resumed == full[seen:], f"after id {seen}"
    by_query = client.get(f"/jobs/{job_id}/events", params={"last_event_id": 5})
    assert parse_sse(by_query.text.splitlines())[0] == full[5:]


def test_a_client_with_every_event_of_a_finished_job_gets_204(client: TestClient, store: JobStore) -> None:
    job_id = finished_job(client, store)
    last = stream(client, job_id)[0][-1].id
    for seen in (last, last + 10):
        response = client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": str(seen)})
        assert response.status_code == 204 and response.content == b""


@pytest.fixture
def short_streams(settings: Settings, redis_client: redis.Redis) -> Iterator[tuple[TestClient, JobStore]]:
    """The app and a store whose job streams keep about 100 events."""
    tuned = settings.model_copy(update={"events_max_len": 100})
    with TestClient(create_app(tuned)) as client:
        yield client, JobStore(redis_client, tuned)


def test_events_trimmed_before_a_client_read_them_are_announced_as_a_gap(
    short_streams: tuple[TestClient, JobStore],
) -> None:
    client, store = short_streams
    points = [(epoch, 1.0 / epoch) for epoch in range(1, 1001)]
    job_id = finished_job(client, store, points)
    last_id = int(store.redis.xrevrange(store.keys.events(job_id), count=1)[0][0].decode().split("-")[1])
    assert store.redis.xlen(store.keys.events(job_id)) < 300, "the stream was trimmed"
    for headers in ({}, {"Last-Event-ID": "3"}):
        events, _ = stream(client, job_id, **headers)
        gap, kept = events[0], events[1:]
        assert gap.event == "gap" and gap.data["first"] == int(headers.get("Last-Event-ID", 0)) + 1
        assert gap.id == gap.data["last"] == kept[0].id - 1
        assert_contiguous(kept, kept[0].id)
        assert kept[-1].id == last_id and kept[-1].data["status"] == "succeeded"
    resumed, _ = stream(client, job_id, **{"Last-Event-ID": str(gap.id)})
    assert resumed == kept, "resuming from the gap's id needs no second gap"


def test_bad_requests_get_clear_errors(client: TestClient, store: JobStore) -> None:
    job_id = finished_job(client, store)
    bad = client.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": "seven"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["header", "last-event-id"]
    negative = client.get(f"/jobs/{job_id}/events", params={"last_event_id": -1})
    assert negative.status_code == 422 and negative.json()["detail"][0]["loc"] == ["query", "last_event_id"]
    for unknown in ("f" * 32, "not-a-job"):
        missing = client.get(f"/jobs/{unknown}/events")
        assert missing.status_code == 404 and unknown in missing.json()["detail"]


def test_the_stream_is_documented_in_the_openapi_description(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/jobs/{job_id}/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    for name in ("event: point", "event: progress", "event: status", "event: gap", "Last-Event-ID"):
        assert name in operation["description"]
