"""The polls' bodies (``service.bodies``, written from the stored job) are, byte for byte, what the routes
sent when they built and returned the response models: a reference app with those routes as they were
(sync handlers returning ``JobPublic``, ``CostsPage`` and ``JobList``, which FastAPI validates and
serialises) answers the same requests on the same stored jobs of every kind."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.spec import TrainingSpec
from core.spec.summary import spec_summary
from core.store import PUBLIC_OWNER, JobRecord, JobStore
from service.schemas import CostPoint, CostsPage, JobList, JobPublic, JobStatus, JobSummary, Progress


def reference_app(store: JobStore) -> FastAPI:
    """The polling routes as they were before ``service.bodies``."""
    app = FastAPI()

    def listed(record: JobRecord | None) -> JobRecord:
        """The job as the listing read it: its spec summary (made from the spec if none is stored)."""
        assert record is not None
        summary = store.redis.hget(store.keys.job(record.id), "spec_summary")
        if summary is None:
            summary = json.dumps(spec_summary(record.spec)).encode()
        return dataclasses.replace(record, spec_json=summary.decode())

    @app.get("/jobs", response_model=JobList)
    def list_jobs(status: JobStatus | None = None, offset: int = 0, limit: int = 20) -> JobList:
        index = store.keys.owner_jobs(PUBLIC_OWNER, status)
        ids = [i.decode() for i in store.redis.zrevrange(index, offset, offset + limit - 1)]
        items = [JobSummary.of(listed(store.get_job(job_id))) for job_id in ids]
        return JobList(items=items, total=store.redis.zcard(index), offset=offset, limit=limit)

    @app.get("/jobs/{job_id}", response_model=JobPublic)
    def get_job(job_id: str) -> JobPublic:
        record = store.get_job(job_id)
        assert record is not None
        return JobPublic.of(record)

    @app.get("/jobs/{job_id}/costs", response_model=CostsPage)
    def get_costs(job_id: str, since: int = 0, limit: int = 1000, max_points: int | None = None) -> CostsPage:
        if max_points is None:
            page = store.costs_page(job_id, since, limit)
        else:
            page = store.costs_curve(job_id, max_points)
        assert page is not None
        points = [CostPoint(epoch=e, cost=c if np.isfinite(c) else None) for e, c in page.points]
        return CostsPage(
            job_id=job_id,
            status=page.status,  # type: ignore[arg-type]
            progress=Progress(epoch=page.epoch, epochs=page.epochs),
            since=since,
            points=points,
            next_since=points[-1].epoch if points else since,
        )

    return app


def stored_jobs(client: TestClient, store: JobStore, redis_client: redis.Redis) -> dict[str, str]:
    """Jobs of every kind, stored as the API and the workers store them; name → id."""
    ids: dict[str, str] = {}
    ids["queued"] = client.post("/jobs", json={"epochs": 3}).json()["id"]
    inline = {
        "dataset": {"X": [[0.5, -1.0, 1e-5, 3.0], [2.0, 1e16, -0.0, 0.1]], "Y": [0, 1, 1, 0]},
        "optimizer": {"name": "adamw", "weight_decay": 0.01},
        "mini_batch_size": "full",
        "decay": {"name": "inverse_time", "decay_rate": 0.5},
        "validation_fraction": 0.25,
        "epochs": 7,
    }
    response = client.post("/jobs", json=inline)
    assert response.status_code == 202, response.text
    ids["inline"] = response.json()["id"]
    uploaded = TrainingSpec.model_validate({"dataset": {"id": "9a1b" * 8}, "layers": [10, 5]})
    ids["uploaded"] = store.create_job(uploaded).id

    running = store.create_job(TrainingSpec.model_validate({"optimizer": {"name": "momentum"}, "epochs": 50}))
    assert store.start_run(running.id, "run-1", rq_job=running.id)
    costs = [(1, 0.69), (10, 3.2e-05), (20, math.nan), (30, math.inf), (40, 1e16), (41, 0.1 + 0.2)]
    store.append_costs(running.id, costs, epoch=41)
    store.set_time_limit(running.id, 12.5)
    store.count_lost_worker(running.id)
    store.request_cancel(running.id)
    ids["running"] = running.id

    succeeded = store.create_job(TrainingSpec())
    assert store.start_run(succeeded.id, "run-2", rq_job=succeeded.id)
    store.append_costs(succeeded.id, [(e, 1 / e) for e in range(1, 202, 10)], epoch=201)
    result = {"accuracy": 0.94, "validation_accuracy": None, "final_cost": math.nan, "seconds": 1.5}
    result |= {"epochs_completed": 201, "steps": 1000.0, "extra": "ignored"}
    assert store.succeed(succeeded.id, result, {"W1": np.zeros((1, 2))}, run="run-2")
    ids["succeeded"] = succeeded.id

    failed = store.create_job(TrainingSpec.model_validate({"optimizer": {"name": "rmsprop"}}))
    assert store.fail(failed.id, 'the cost diverged: "nan" – ünïcode,\n\tand a tab \x01')
    ids["failed"] = failed.id

    canceled = store.create_job(TrainingSpec.model_validate({"optimizer": {"name": "nesterov"}}))
    store.request_cancel(canceled.id)
    assert store.mark_canceled(canceled.id)
    ids["canceled"] = canceled.id

    whole_seconds = store.create_job(TrainingSpec())
    redis_client.hset(store.keys.job(whole_seconds.id), mapping={"created_at": "1700000000.0"})
    ids["whole seconds"] = whole_seconds.id

    grid = {"optimizer.learning_rate": [0.001, 0.01]}
    experiment = client.post("/experiments", json={"base": {"epochs": 3}, "grid": grid})
    assert experiment.status_code == 202, experiment.text
    for i, member in enumerate(experiment.json()["members"]):
        ids[f"member {i}"] = member["job_id"]
    return ids


@pytest.fixture
def reference(store: JobStore) -> TestClient:
    return TestClient(reference_app(store))


def assert_same(client: TestClient, reference: TestClient, url: str) -> None:
    ours, theirs = client.get(url), reference.get(url)
    assert ours.status_code == theirs.status_code == 200, (url, ours.text)
    assert ours.content == theirs.content, url
    for header in ("content-type", "content-length"):
        assert ours.headers[header] == theirs.headers[header], (url, header)


def test_a_job_is_the_models_json(
    client: TestClient, reference: TestClient, store: JobStore, redis_client: redis.Redis
) -> None:
    ids = stored_jobs(client, store, redis_client)
    assert len(ids) == 10
    for job_id in ids.values():
        assert_same(client, reference, f"/jobs/{job_id}")
    member = client.get(f"/jobs/{ids['member 1']}").json()
    assert member["experiment_id"] and member["label"]
    running = client.get(f"/jobs/{ids['running']}").json()
    assert running["cancel_requested"] and running["workers_lost"] == 1 and running["timeout_seconds"] == 12.5
    assert client.get(f"/jobs/{ids['succeeded']}").json()["result"]["final_cost"] is None
    assert client.get(f"/jobs/{ids['inline']}").json()["spec"]["dataset"]["X"][1][1] == 1e16


def test_costs_are_the_models_json(
    client: TestClient, reference: TestClient, store: JobStore, redis_client: redis.Redis
) -> None:
    ids = stored_jobs(client, store, redis_client)
    for name in ("queued", "running", "succeeded", "member 0"):
        for query in ("", "?since=0", "?since=10", "?since=20&limit=2", "?since=99999", "?max_points=8"):
            assert_same(client, reference, f"/jobs/{ids[name]}/costs{query}")
    points = client.get(f"/jobs/{ids['running']}/costs").json()["points"]
    assert [p["cost"] for p in points[2:4]] == [None, None] and points[1]["cost"] == 3.2e-05


def test_a_listing_is_the_models_json(
    client: TestClient, reference: TestClient, store: JobStore, redis_client: redis.Redis
) -> None:
    ids = stored_jobs(client, store, redis_client)
    older = store.create_job(TrainingSpec.model_validate({"dataset": {"X": [[1.0, 2.0]], "Y": [0, 1]}}))
    redis_client.hdel(store.keys.job(older.id), "spec_summary")  # as a job stored before summaries
    ids["older"] = older.id
    queries = ["", "?limit=100", "?limit=5", "?offset=3&limit=4", "?offset=11", "?offset=100"]
    queries += [f"?status={status}" for status in ("queued", "running", "succeeded", "failed", "canceled")]
    queries += ["?status=queued&offset=2&limit=3"]
    for query in queries:
        assert_same(client, reference, f"/jobs{query}")
        assert_same(client, reference, f"/jobs{query}")  # the second time from the records kept
    page = client.get("/jobs", params={"limit": 100}).json()
    assert page["total"] == len(page["items"]) == len(ids) == 11
    items = {item["id"]: item for item in page["items"]}
    assert items[ids["inline"]]["spec"]["dataset"] == {"inline": {"n_features": 2, "n_examples": 4}}
    assert items[ids["older"]]["spec"]["dataset"] == {"inline": {"n_features": 1, "n_examples": 2}}
    assert items[ids["succeeded"]]["result"]["final_cost"] is None
    assert items[ids["running"]]["cancel_requested"] and items[ids["member 1"]]["label"]
    assert [item["id"] for item in client.get("/jobs?status=failed").json()["items"]] == [ids["failed"]]
