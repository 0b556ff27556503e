"""GET /jobs/{id} shows what the worker and RQ's failure callback write about a run: its time limit and
lost workers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from core.config import Settings
from core.data import training_data
from core.store import JobStore
from worker.timeouts import job_time_limit


def test_time_limit_and_lost_workers_appear_once_written(
    client: TestClient, store: JobStore, settings: Settings
) -> None:
    job_id = client.post("/jobs", json={"epochs": 50}).json()["id"]
    fresh = client.get(f"/jobs/{job_id}").json()
    assert (fresh["timeout_seconds"], fresh["workers_lost"]) == (None, None)

    # What worker.tasks does as it starts the job: its run, then the limit derived from the job's size.
    spec = store.get_spec(job_id)
    X, _ = training_data(store, spec)
    limit = job_time_limit(spec.to_train_config(), X.shape[0], X.shape[1], settings)
    assert store.start_run(job_id, "run-1", rq_job=job_id)
    store.set_time_limit(job_id, limit)
    running = client.get(f"/jobs/{job_id}").json()
    assert running["status"] == "running"
    assert (running["timeout_seconds"], running["workers_lost"]) == (limit, None)

    # What core.queue.on_failure does when RQ finds the job abandoned: count the lost worker.
    for lost in (1, 2):
        assert store.count_lost_worker(job_id) == lost
        job = client.get(f"/jobs/{job_id}").json()
        assert (job["timeout_seconds"], job["workers_lost"]) == (limit, lost)
    listed = client.get("/jobs").json()["items"]
    assert [(j["id"], j["workers_lost"]) for j in listed] == [(job_id, 2)]
