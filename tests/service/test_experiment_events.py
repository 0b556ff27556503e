"""GET /experiments/{id}/events on an experiment whose members the test runs as a worker would: every
member's story once, with its job_id; resuming with Last-Event-ID at every position, with nothing missed
or repeated; the end after the last member's terminal status; 204, 422s, 404s and ownership."""

from __future__ import annotations

from itertools import pairwise

import pytest
from fastapi.testclient import TestClient

from core.config import Settings
from core.store import JobStore
from service.main import create_app
from tests.sse import Sse, parse_sse
from trainer.network import initialize_parameters

pytestmark = pytest.mark.timeout(60)


def run_members(client: TestClient, store: JobStore, **headers: str) -> tuple[str, list[str]]:
    """The course's comparison (``POST /experiments {}`` with 30 epochs), its members run by hand with
    their writes interleaved: gd and adam succeed, momentum fails."""
    created = client.post("/experiments", json={"base": {"epochs": 30}}, headers=headers)
    assert created.status_code == 202, created.text
    ids = [member["job_id"] for member in created.json()["members"]]
    for job_id in ids:
        assert store.start_run(job_id, "run", rq_job=job_id)
    for start in range(1, 31, 10):
        for rank, job_id in enumerate(ids):
            chunk = [(epoch, (rank + 1.0) / epoch) for epoch in range(start, start + 10)]
            store.append_costs(job_id, chunk, epoch=chunk[-1][0])
    params = initialize_parameters((2, 5, 2, 1), 1)
    assert store.succeed(ids[0], {"accuracy": 0.8, "final_cost": 0.03}, params)
    assert store.fail(ids[1], "diverged at epoch 30")
    assert store.succeed(ids[2], {"accuracy": 0.9, "final_cost": 0.01}, params)
    return created.json()["id"], ids


def stream(client: TestClient, path: str, **headers: str) -> list[Sse]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text.splitlines())[0]


def by_member(events: list[Sse], ids: list[str]) -> list[list[tuple[int, str, dict]]]:
    """Each member's events as its own stream numbers them: (seq, event, data without job_id)."""
    members: list[list[tuple[int, str, dict]]] = [[] for _ in ids]
    for event in events:
        index = ids.index(event.data["job_id"])
        seq = int(str(event.id).split(".")[index])
        members[index].append((seq, event.event, {k: v for k, v in event.data.items() if k != "job_id"}))
    return members


def test_the_stream_carries_every_members_story_once_and_ends_after_the_last(
    client: TestClient, store: JobStore
) -> None:
    experiment_id, ids = run_members(client, store)
    events = stream(client, f"/experiments/{experiment_id}/events")
    members = by_member(events, ids)
    for job_id, member in zip(ids, members, strict=True):
        solo = stream(client, f"/jobs/{job_id}/events")
        assert member == [(e.id, e.event, e.data) for e in solo], "the member's own stream, exactly"
    positions = [[int(part) for part in str(e.id).split(".")] for e in events]
    for before, after in pairwise(positions):
        assert sum(after) == sum(before) + 1 and all(a >= b for a, b in zip(after, before, strict=True))
    assert [m[-1][2]["status"] for m in members] == ["succeeded", "failed", "succeeded"]
    assert events[-1].event == "status", "the stream ends with the last member's terminal status"
    done = client.get(f"/experiments/{experiment_id}/events", headers={"Last-Event-ID": str(events[-1].id)})
    assert done.status_code == 204, "a client with every event is told to stop reconnecting"


def test_last_event_id_resumes_every_member_exactly_after_its_position(
    client: TestClient, store: JobStore
) -> None:
    experiment_id, ids = run_members(client, store)
    full = by_member(stream(client, f"/experiments/{experiment_id}/events"), ids)
    events = stream(client, f"/experiments/{experiment_id}/events")
    for seen in range(1, len(events)):
        position = [int(part) for part in str(events[seen - 1].id).split(".")]
        resumed = stream(
            client, f"/experiments/{experiment_id}/events", **{"Last-Event-ID": str(events[seen - 1].id)}
        )
        assert len(resumed) == len(events) - seen, f"after {events[seen - 1].id}"
        for index, member in enumerate(by_member(resumed, ids)):
            assert member == [e for e in full[index] if e[0] > position[index]], (
                f"after {events[seen - 1].id}"
            )
    query = client.get(f"/experiments/{experiment_id}/events", params={"last_event_id": events[4].id})
    assert len(parse_sse(query.text.splitlines())[0]) == len(events) - 5


def test_a_position_naming_fewer_or_more_members_is_taken_at_its_word(
    client: TestClient, store: JobStore
) -> None:
    experiment_id, ids = run_members(client, store)
    path = f"/experiments/{experiment_id}/events"
    full = by_member(stream(client, path), ids)
    for sent, position in (("3.4", [3, 4, 0]), ("1.2.3.4", [1, 2, 3]), ("0", [0, 0, 0])):
        resumed = by_member(stream(client, path, **{"Last-Event-ID": sent}), ids)
        assert resumed == [[e for e in m if e[0] > at] for m, at in zip(full, position, strict=True)], sent


def test_malformed_positions_get_a_422_naming_where(client: TestClient, store: JobStore) -> None:
    experiment_id, _ = run_members(client, store)
    path = f"/experiments/{experiment_id}/events"
    for bad in ("a.b.c", "-1.0.0", "1..2", "1.", "1 2"):
        response = client.get(path, headers={"Last-Event-ID": bad})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["header", "last-event-id"]
    response = client.get(path, params={"last_event_id": "x"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "last_event_id"]
    for unknown in ("f" * 32, "not-an-experiment"):
        missing = client.get(f"/experiments/{unknown}/events")
        assert missing.status_code == 404 and unknown in missing.json()["detail"]


def test_an_experiments_stream_is_its_owners(settings: Settings, redis_client) -> None:
    keyed = settings.model_copy(
        update={"api_keys": Settings(_env_file=None, API_KEYS="alice-key,bob-key").api_keys}
    )
    alice, bob = ({"Authorization": f"Bearer {k}"} for k in ("alice-key", "bob-key"))
    with TestClient(create_app(keyed)) as client:
        experiment_id, _ = run_members(client, JobStore(redis_client, keyed), **alice)
        path = f"/experiments/{experiment_id}/events"
        assert len(stream(client, path, **alice)) > 20
        assert client.get(path, headers=bob).status_code == 404
        assert client.get(path).status_code == 401


def test_a_stream_over_the_subscriber_cap_is_503(settings: Settings, redis_client) -> None:
    tuned = settings.model_copy(update={"events_max_subscribers": 2})
    with TestClient(create_app(tuned)) as client:
        created = client.post("/experiments", json={"base": {"epochs": 30}}).json()
        response = client.get(f"/experiments/{created['id']}/events")
        assert response.status_code == 503 and "2 event streams" in response.json()["detail"]
