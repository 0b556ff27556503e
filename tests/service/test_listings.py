"""Listings: a job's spec summarized (inline data as its shape), experiments without their members'
specs, and totals that agree with the items once jobs and experiments have expired."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from core.config import Settings
from core.spec import TrainingSpec
from core.statuses import QUEUED, RUNNING
from core.store import JobStore
from service.main import create_app

N_EXAMPLES = 25_000
INLINE = {
    "X": [[(i % 97) / 97 for i in range(N_EXAMPLES)], [(i % 89) / 89 for i in range(N_EXAMPLES)]],
    "Y": [float(i % 2) for i in range(N_EXAMPLES)],
}


def test_a_listing_shows_inline_data_as_its_shape_and_the_job_keeps_it(client: TestClient) -> None:
    ids = [client.post("/jobs", json={"dataset": INLINE, "epochs": 1}).json()["id"] for _ in range(10)]
    builtin = client.post("/jobs", json={"epochs": 1}).json()["id"]
    listing = client.get("/jobs", params={"limit": 20})
    assert listing.status_code == 200
    page = listing.json()
    assert page["total"] == len(page["items"]) == 11
    print(f"GET /jobs: {len(listing.content)} bytes for 10 jobs of {3 * N_EXAMPLES} inline numbers each")
    assert len(listing.content) < 11 * 1000
    specs = {item["id"]: item["spec"] for item in page["items"]}
    for job_id in ids:
        assert specs[job_id]["dataset"] == {"inline": {"n_features": 2, "n_examples": N_EXAMPLES}}
        assert specs[job_id]["layers"] == [5, 2] and specs[job_id]["epochs"] == 1
    assert specs[builtin]["dataset"] == {"name": "moons", "n_samples": None, "noise": None, "seed": None}
    full = client.get(f"/jobs/{ids[0]}").json()["spec"]["dataset"]
    assert full["X"] == INLINE["X"] and full["Y"] == INLINE["Y"]
    queued = client.get("/jobs", params={"status": "queued", "limit": 3}).json()
    assert queued["total"] == 11 and len(queued["items"]) == 3


def test_a_listing_is_newest_first_paginated_and_filtered(client: TestClient, store: JobStore) -> None:
    ids = [store.create_job(TrainingSpec()).id for _ in range(5)]
    store.start_run(ids[1], "run", rq_job=ids[1])
    page = client.get("/jobs", params={"offset": 1, "limit": 2}).json()
    assert page["total"] == 5 and [j["id"] for j in page["items"]] == [ids[3], ids[2]]
    assert (page["offset"], page["limit"]) == (1, 2)
    running = client.get("/jobs", params={"status": RUNNING}).json()
    assert running["total"] == 1 and [j["id"] for j in running["items"]] == [ids[1]]
    assert client.get("/jobs", params={"status": QUEUED}).json()["total"] == 4


def test_a_job_deleted_leaves_the_listing_and_the_page_is_filled(
    client: TestClient, store: JobStore, redis_client: redis.Redis
) -> None:
    ids = [store.create_job(TrainingSpec()).id for _ in range(4)]
    redis_client.delete(store.keys.job(ids[3]), store.keys.job(ids[1]))  # not expired: deleted
    page = client.get("/jobs", params={"limit": 2}).json()
    assert [j["id"] for j in page["items"]] == [ids[2], ids[0]] and page["total"] == 2
    for key in [store.keys.owner_jobs("public"), *store.keys.status_indexes("public")]:
        assert not {ids[1], ids[3]} & {i.decode() for i in redis_client.zrange(key, 0, -1)}, key


def test_a_listing_summarizes_a_job_stored_before_summaries(client: TestClient, store: JobStore) -> None:
    job_id = client.post("/jobs", json={"dataset": INLINE, "epochs": 1}).json()["id"]
    store.redis.hdel(store.keys.job(job_id), "spec_summary")  # as a job stored by an older version
    [item] = client.get("/jobs").json()["items"]
    assert item["spec"]["dataset"] == {"inline": {"n_features": 2, "n_examples": N_EXAMPLES}}


def test_an_experiment_listing_carries_no_spec(client: TestClient) -> None:
    body = {"base": {"dataset": INLINE, "epochs": 1}, "grid": {"optimizer.name": ["gd", "adam"]}}
    experiment = client.post("/experiments", json=body)
    assert experiment.status_code == 202, experiment.text
    listing = client.get("/experiments")
    assert listing.status_code == 200 and len(listing.content) < 1000
    [item] = listing.json()["items"]
    assert item["counts"] == {"queued": 2} and "X" not in json.dumps(item)


@pytest.fixture
def short_lived(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    """The app with finished jobs kept for 1 s."""
    with TestClient(create_app(settings.model_copy(update={"result_ttl_seconds": 1}))) as test_client:
        yield test_client


def wait_until_gone(store: JobStore, keys: list[str], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while store.redis.exists(*keys):
        assert time.monotonic() < deadline, "the finished records did not expire"
        time.sleep(0.1)


def test_after_expiry_the_totals_agree_with_the_items(
    short_lived: TestClient, store: JobStore, settings: Settings
) -> None:
    client = short_lived
    expiring = [client.post("/jobs", json={"epochs": 1}).json()["id"] for _ in range(30)]
    experiment = client.post("/experiments", json={"base": {"epochs": 1}}).json()["id"]
    for job_id in expiring:
        assert client.delete(f"/jobs/{job_id}").json()["status"] == "canceled"
    assert client.delete(f"/experiments/{experiment}").status_code == 200
    kept = client.post("/jobs", json={"epochs": 1}).json()["id"]
    wait_until_gone(store, [store.keys.job(j) for j in expiring] + [store.keys.experiment(experiment)])

    for params in ({"limit": 5}, {"limit": 5, "status": "canceled"}, {"limit": 5, "status": "queued"}):
        page = client.get("/jobs", params=params).json()
        assert page["total"] == len(page["items"]), params
    assert [item["id"] for item in client.get("/jobs", params={"limit": 5}).json()["items"]] == [kept]
    experiments = client.get("/experiments").json()
    assert experiments["total"] == len(experiments["items"]) == 0
    assert store.redis.zcard(store.keys.owner_jobs("public")) == 1
