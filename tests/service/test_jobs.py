"""/jobs against a real Redis with no workers: submit, read, list, cancel, costs, model, predict."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from rq import Queue
from rq.job import Job

from core.spec import TrainingSpec
from core.store import JobStore

UNKNOWN = "0123456789abcdef0123456789abcdef"


def submit(client: TestClient, body: dict | None = None) -> dict:
    response = client.post("/jobs", json=body or {"epochs": 3})
    assert response.status_code == 202, response.text
    return response.json()


def test_post_is_202_with_location_and_enqueued_as_json(client: TestClient, queue: Queue) -> None:
    response = client.post("/jobs", json={"optimizer": {"name": "adam"}})
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued" and len(job["id"]) == 32
    assert response.headers["location"] == f"/jobs/{job['id']}"
    assert job["progress"] == {"epoch": 0, "epochs": 10000}
    assert queue.job_ids == [job["id"]]
    rq_job = Job.fetch(job["id"], connection=queue.connection, serializer=queue.serializer)
    assert (rq_job.func_name, list(rq_job.args)) == ("worker.tasks.run_job", [job["id"]])
    assert rq_job.result_ttl == 7 * 24 * 3600


def test_minimal_spec_is_the_seed_adam_run(client: TestClient, store: JobStore) -> None:
    job = submit(client, {"optimizer": {"name": "adam"}})
    fetched = client.get(f"/jobs/{job['id']}").json()
    assert fetched["spec"] == job["spec"]
    spec = store.get_spec(job["id"])
    assert spec.to_train_config() == TrainingSpec().to_train_config()
    assert spec.to_train_config().optimizer.learning_rate == 0.0007


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/jobs/{UNKNOWN}"),
        ("get", f"/jobs/{UNKNOWN}/costs"),
        ("get", f"/jobs/{UNKNOWN}/model"),
        ("post", f"/jobs/{UNKNOWN}/predict"),
        ("delete", f"/jobs/{UNKNOWN}"),
        ("get", f"/datasets/{UNKNOWN}"),
    ],
)
def test_unknown_ids_are_404(client: TestClient, method: str, path: str) -> None:
    kwargs = {"json": {"X": [[1.0]]}} if method == "post" else {}
    response = client.request(method.upper(), path, **kwargs)
    assert response.status_code == 404
    assert UNKNOWN in response.json()["detail"]


def test_list_newest_first_paginated_and_filtered(client: TestClient, store: JobStore) -> None:
    ids = [submit(client)["id"] for _ in range(5)]
    store.start_run(ids[0], "run", rq_job=ids[0])
    page = client.get("/jobs", params={"offset": 1, "limit": 2}).json()
    assert page["total"] == 5 and (page["offset"], page["limit"]) == (1, 2)
    assert [j["id"] for j in page["items"]] == [ids[3], ids[2]]
    running = client.get("/jobs", params={"status": "running"}).json()
    assert [j["id"] for j in running["items"]] == [ids[0]] and running["total"] == 1
    assert client.get("/jobs", params={"status": "queued"}).json()["total"] == 4
    assert client.get("/jobs", params={"status": "bogus"}).status_code == 422
    assert client.get("/jobs", params={"limit": 0}).status_code == 422


def test_cancel_queued_job_never_runs(client: TestClient, queue: Queue, store: JobStore) -> None:
    keep, cancel = submit(client)["id"], submit(client)["id"]
    response = client.delete(f"/jobs/{cancel}")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert queue.job_ids == [keep]
    assert not store.start_run(cancel, "run", rq_job=cancel), (
        "a worker that dequeued it anyway must not run it"
    )
    assert client.get(f"/jobs/{cancel}").json()["status"] == "canceled"
    assert client.delete(f"/jobs/{cancel}").status_code == 200  # idempotent
    assert client.get("/jobs", params={"status": "canceled"}).json()["total"] == 1


def test_cancel_running_job_raises_the_flag(client: TestClient, store: JobStore) -> None:
    job_id = submit(client)["id"]
    store.start_run(job_id, "run", rq_job=job_id)
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["cancel_requested"] is True
    assert store.runs_of([job_id])[0] == ("run", True)
    store.mark_canceled(job_id)  # what the worker does when it stops
    assert client.get(f"/jobs/{job_id}").json()["status"] == "canceled"


def test_cancel_finished_job_is_409(client: TestClient, store: JobStore) -> None:
    job_id = submit(client)["id"]
    store.start_run(job_id, "run", rq_job=job_id)
    store.fail(job_id, "diverged at epoch 3")
    assert client.delete(f"/jobs/{job_id}").status_code == 409
    job = client.get(f"/jobs/{job_id}").json()
    assert (job["status"], job["error"]) == ("failed", "diverged at epoch 3")


def test_costs_since_n(client: TestClient, store: JobStore) -> None:
    job_id = submit(client, {"epochs": 1000, "record_every": 100})["id"]
    store.start_run(job_id, "run", rq_job=job_id)
    store.append_costs(job_id, [(e, 1.0 / e) for e in (1, 101, 201, 301)], epoch=350)
    page = client.get(f"/jobs/{job_id}/costs").json()
    assert [p["epoch"] for p in page["points"]] == [1, 101, 201, 301]
    assert page["status"] == "running" and page["progress"] == {"epoch": 350, "epochs": 1000}
    assert page["next_since"] == 301 and page["points"][1]["cost"] == 1.0 / 101
    newer = client.get(f"/jobs/{job_id}/costs", params={"since": 101}).json()
    assert [p["epoch"] for p in newer["points"]] == [201, 301]
    limited = client.get(f"/jobs/{job_id}/costs", params={"since": 0, "limit": 2}).json()
    assert [p["epoch"] for p in limited["points"]] == [1, 101] and limited["next_since"] == 101
    empty = client.get(f"/jobs/{job_id}/costs", params={"since": 301}).json()
    assert empty["points"] == [] and empty["next_since"] == 301
    assert client.get(f"/jobs/{job_id}/costs", params={"since": -1}).status_code == 422


def succeeded_job(client: TestClient, store: JobStore) -> tuple[str, dict[str, np.ndarray]]:
    job_id = submit(client, {"layers": [3], "epochs": 2})["id"]
    rng = np.random.RandomState(0)
    params = {"W1": rng.randn(3, 2), "b1": rng.randn(3, 1), "W2": rng.randn(1, 3), "b2": rng.randn(1, 1)}
    store.start_run(job_id, "run", rq_job=job_id)
    result = {"accuracy": 0.9, "validation_accuracy": None, "final_cost": 0.3, "seconds": 0.01}
    store.succeed(job_id, result, params)
    return job_id, params


def test_result_in_job(client: TestClient, store: JobStore) -> None:
    job_id, _ = succeeded_job(client, store)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["result"]["accuracy"] == 0.9
    assert job["finished_at"] is not None and job["started_at"] is not None


def test_model_json_and_npz(client: TestClient, store: JobStore) -> None:
    job_id, params = succeeded_job(client, store)
    model = client.get(f"/jobs/{job_id}/model").json()
    assert model["layer_sizes"] == [2, 3, 1] and list(model["parameters"]) == ["W1", "b1", "W2", "b2"]
    np.testing.assert_array_equal(np.array(model["parameters"]["W1"]), params["W1"])
    downloads = [client.get(f"/jobs/{job_id}/model.npz")]
    for kwargs in ({"params": {"format": "npz"}}, {"headers": {"Accept": "application/octet-stream"}}):
        downloads.append(client.get(f"/jobs/{job_id}/model", **kwargs))
    for response in downloads:
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"] == f'attachment; filename="{job_id}.npz"'
        with np.load(io.BytesIO(response.content), allow_pickle=False) as npz:
            np.testing.assert_array_equal(npz["b2"], params["b2"])


def test_predict(client: TestClient, store: JobStore) -> None:
    from trainer.network import predict_proba

    job_id, params = succeeded_job(client, store)
    X = [[0.5, -1.0, 2.0], [0.25, 0.8, -0.3]]
    response = client.post(f"/jobs/{job_id}/predict", json={"X": X})
    assert response.status_code == 200
    body = response.json()
    expected = predict_proba(params, np.array(X))[0]
    np.testing.assert_allclose(body["probabilities"], expected, rtol=0, atol=0)
    assert body["labels"] == [int(p > 0.5) for p in expected]


def test_predict_rows_is_predict_of_the_transpose(client: TestClient, store: JobStore) -> None:
    job_id, _ = succeeded_job(client, store)
    X = [[0.5, -1.0, 2.0], [0.25, 0.8, -0.3]]
    by_columns = client.post(f"/jobs/{job_id}/predict", json={"X": X})
    by_rows = client.post(f"/jobs/{job_id}/predict", json={"rows": np.array(X).T.tolist()})
    assert by_rows.status_code == 200 and by_rows.json() == by_columns.json()
    assert len(by_rows.json()["labels"]) == 3


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"rows": [[1.0, 2.0, 3.0]]}, ["body", "rows"], "the model's 2 features"),
        ({"rows": [[1.0, 2.0], [3.0]]}, ["body", "rows"], "the model's 2 features"),
        ({"rows": []}, ["body", "rows"], "at least 1 item"),
        ({}, ["body"], 'exactly one of "X"'),
        ({"X": [[1.0], [2.0]], "rows": [[1.0, 2.0]]}, ["body"], 'exactly one of "X"'),
        ({"columns": [[1.0]]}, ["body", "columns"], "Extra inputs"),
    ],
)
def test_predict_bad_rows_are_422(
    client: TestClient, store: JobStore, body: dict, loc: list, words: str
) -> None:
    job_id, _ = succeeded_job(client, store)
    response = client.post(f"/jobs/{job_id}/predict", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == loc and words in error["msg"], error


@pytest.mark.parametrize(
    "X",
    [[[1.0, 2.0]], [[1.0], [2.0, 3.0]], [[], []], "x", [[1.0, "a"], [2.0, 3.0]]],
)
def test_predict_bad_inputs_are_422(client: TestClient, store: JobStore, X: object) -> None:
    job_id, _ = succeeded_job(client, store)
    response = client.post(f"/jobs/{job_id}/predict", json={"X": X})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "X"]


def test_no_model_yet_is_409(client: TestClient) -> None:
    job_id = submit(client)["id"]
    assert client.get(f"/jobs/{job_id}/model").status_code == 409
    response = client.post(f"/jobs/{job_id}/predict", json={"X": [[1.0], [2.0]]})
    assert response.status_code == 409 and "queued" in response.json()["detail"]
