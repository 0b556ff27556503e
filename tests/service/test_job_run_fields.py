"""GET /jobs/{id} shows what the worker and the reapers write about a run: its time limit and lost workers."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from service.config import Settings
from service.store import JobStore
from worker.timeouts import job_time_limit


def test_time_limit_and_lost_workers_appear_once_written(
    client: TestClient, store: JobStore, settings: Settings
) -> None:
    job_id = client.post("/jobs", json={"epochs": 50}).json()["id"]
    fresh = client.get(f"/jobs/{job_id}").json()
    assert (fresh["timeout_seconds"], fresh["workers_lost"]) == (None, None)

    # What worker.tasks does as it starts the job: its run, then the limit derived from the job's size.
    spec = store.get_spec(job_id)
    X, _ = store.training_data(spec)
    limit = job_time_limit(spec.to_train_config(), X.shape[0], X.shape[1], settings)
    assert store.start_run(job_id, "run-1")
    store.set_time_limit(job_id, limit)
    running = client.get(f"/jobs/{job_id}").json()
    assert running["status"] == "running"
    assert (running["timeout_seconds"], running["workers_lost"]) == (limit, None)

    # What a reaper does with a run whose heartbeat is stale: claim it, counting the lost worker.
    for lost in (1, 2):
        store.redis.zadd(f"{store.prefix}:running", {job_id: time.time() - 10})
        claim = store.claim_lost_run(job_id, 2.0, lease=2.0)
        assert claim is not None and claim[0] == lost
        job = client.get(f"/jobs/{job_id}").json()
        assert (job["timeout_seconds"], job["workers_lost"]) == (limit, lost)
    listed = client.get("/jobs").json()["items"]
    assert [(j["id"], j["workers_lost"]) for j in listed] == [(job_id, 2)]
