"""An experiment's live events through the real service: every member's curve arriving while the stack
trains, a client that drops mid-run and resumes with Last-Event-ID (nothing missed or repeated for any
member), heartbeats, and the end once every member is finished."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sse import Sse, parse_sse, read_then_cancel

pytestmark = pytest.mark.e2e

EXPERIMENT = {"base": {"epochs": 3000, "record_every": 20}}


def read(
    client: httpx.Client, experiment_id: str, stop_after: int | None = None, **headers: str
) -> list[Sse]:
    """The experiment's events until the stream ends (or after ``stop_after`` events: then hang up)."""
    lines: list[str] = []
    with client.stream(
        "GET", f"/experiments/{experiment_id}/events", headers=headers, timeout=60
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            lines.append(line)
            if not line and stop_after is not None and sum(x.startswith("id:") for x in lines) == stop_after:
                break
    return parse_sse(lines)[0]


def per_member(events: list[Sse], job_ids: list[str]) -> dict[str, list[tuple[str, dict]]]:
    members: dict[str, list[tuple[str, dict]]] = {job_id: [] for job_id in job_ids}
    for event in events:
        members[event.data["job_id"]].append((event.event, event.data))
    return members


def test_every_members_curve_arrives_live_and_the_stream_ends_with_the_last(client: httpx.Client) -> None:
    created = client.post("/experiments", json=EXPERIMENT).json()
    job_ids = [m["job_id"] for m in created["members"]]
    first = read(client, created["id"], stop_after=40)
    assert client.get(f"/experiments/{created['id']}").json()["status"] != "succeeded"
    time.sleep(0.3)  # the stack goes on while this client is away
    rest = read(client, created["id"], **{"Last-Event-ID": str(first[-1].id)})
    whole = read(client, created["id"])
    assert per_member(first + rest, job_ids) == per_member(whole, job_ids), "resumed = uninterrupted"
    for job_id, events in per_member(whole, job_ids).items():
        costs = client.get(f"/jobs/{job_id}/costs", params={"limit": 10_000}).json()["points"]
        points = [{"epoch": d["epoch"], "cost": d["cost"]} for name, d in events if name == "point"]
        assert points == costs, "every point of the member, once, in order"
        assert events[-1][1]["status"] == "succeeded"
    last = client.get(f"/experiments/{created['id']}/events", headers={"Last-Event-ID": str(whole[-1].id)})
    assert last.status_code == 204


def test_an_idle_experiment_stream_gets_heartbeats_and_ends_when_canceled(
    idle_client: httpx.Client,
) -> None:
    created = idle_client.post("/experiments", json={"base": {"epochs": 50}}).json()
    path = f"/experiments/{created['id']}"
    events, comments = read_then_cancel(idle_client, f"{path}/events", path)
    assert comments >= 3
    assert sorted((e.data["job_id"], e.data["status"]) for e in events) == sorted(
        (m["job_id"], status) for m in created["members"] for status in ("queued", "canceled")
    )
