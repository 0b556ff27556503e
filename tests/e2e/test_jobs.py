"""A job's life through the real service: submit, follow its costs, its result, model and predictions."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
import numpy as np
import pytest

from tests.e2e.helpers import follow_costs, job, submit
from trainer import TrainConfig, load_builtin, predict_proba, train
from trainer.config import OptimizerConfig

pytestmark = pytest.mark.e2e

SHORT = {"optimizer": {"name": "adam"}, "epochs": 300, "record_every": 10}


def test_short_job_streams_the_trainers_cost_history(client: httpx.Client) -> None:
    job_id = submit(client, SHORT)
    points, status, _ = follow_costs(client, job_id, timeout=30)
    assert status == "succeeded"
    expected = train(*load_builtin("moons"), TrainConfig(epochs=300, record_every=10))
    assert [(p["epoch"], p["cost"]) for p in points] == [(p.epoch, p.cost) for p in expected.costs]
    body = job(client, job_id)
    assert body["progress"] == {"epoch": 300, "epochs": 300}
    assert body["result"]["accuracy"] == expected.accuracy
    assert body["result"]["final_cost"] == expected.final_cost
    assert body["result"]["steps"] == expected.steps
    created, started, finished = (
        datetime.fromisoformat(body[k]) for k in ("created_at", "started_at", "finished_at")
    )
    assert created <= started <= finished
    assert body["error"] is None


def test_model_download_and_predict(client: httpx.Client) -> None:
    job_id = submit(client, {**SHORT, "optimizer": {"name": "momentum"}})
    assert follow_costs(client, job_id, timeout=30)[1] == "succeeded"
    X, Y = load_builtin("moons")
    config = TrainConfig(optimizer=OptimizerConfig(name="momentum"), epochs=300, record_every=10)
    expected = train(X, Y, config)

    as_json = client.get(f"/jobs/{job_id}/model").json()
    assert as_json["layer_sizes"] == [2, 5, 2, 1]
    for name, array in expected.parameters.items():
        np.testing.assert_array_equal(np.array(as_json["parameters"][name]), array)

    download = client.get(f"/jobs/{job_id}/model", params={"format": "npz"})
    assert download.status_code == 200
    with np.load(io.BytesIO(download.content), allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(expected.parameters)
        for name, array in expected.parameters.items():
            np.testing.assert_array_equal(npz[name], array)

    inputs = X[:, :7]
    prediction = client.post(f"/jobs/{job_id}/predict", json={"X": inputs.tolist()}).json()
    probabilities = predict_proba(expected.parameters, inputs)[0]
    np.testing.assert_allclose(prediction["probabilities"], probabilities, rtol=0, atol=1e-15)
    assert prediction["labels"] == [int(p > 0.5) for p in probabilities]


def test_unknown_ids_are_404(client: httpx.Client) -> None:
    unknown = "0" * 32
    assert client.get(f"/jobs/{unknown}").status_code == 404
    assert client.get(f"/jobs/{unknown}/costs").status_code == 404
    assert client.delete(f"/jobs/{unknown}").status_code == 404
    assert client.get(f"/jobs/{unknown}/model").status_code == 404
    assert client.post(f"/jobs/{unknown}/predict", json={"X": [[0.0], [0.0]]}).status_code == 404
    assert client.get(f"/datasets/{unknown}").status_code == 404


def test_uploaded_dataset_trains(client: httpx.Client) -> None:
    X, Y = load_builtin("circles", n_samples=200, noise=0.1, seed=5)
    buffer = io.BytesIO()
    np.savez(buffer, X=X, Y=Y)
    upload = client.post("/datasets", files={"file": ("circles.npz", buffer.getvalue())})
    assert upload.status_code == 201, upload.text
    dataset = upload.json()
    assert (dataset["n_features"], dataset["n_examples"]) == (2, 200)

    spec = {
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "dataset": {"id": dataset["id"]},
        "layers": [8],
        "epochs": 200,
        "record_every": 50,
    }
    job_id = submit(client, spec)
    points, status, _ = follow_costs(client, job_id, timeout=30)
    assert status == "succeeded"
    config = TrainConfig(
        layers=(8,), optimizer=OptimizerConfig(name="adam", learning_rate=0.01), epochs=200, record_every=50
    )
    expected = train(X, Y, config)
    assert [p["epoch"] for p in points] == [1, 51, 101, 151, 200]
    assert [p["cost"] for p in points] == [p.cost for p in expected.costs]
    assert job(client, job_id)["result"]["accuracy"] == expected.accuracy


def test_diverging_job_fails_with_its_epoch_and_keeps_its_history(client: httpx.Client) -> None:
    X, Y = load_builtin("moons")
    inline = {"X": (X * 1e200).tolist(), "Y": Y[0].tolist()}  # the logits overflow within a few epochs
    spec = {
        "optimizer": {"name": "gd", "learning_rate": 1.0},
        "dataset": inline,
        "epochs": 500,
        "record_every": 1,
    }
    job_id = submit(client, spec)
    points, status, _ = follow_costs(client, job_id, timeout=30)
    body = job(client, job_id)
    assert status == "failed", body
    assert body["error"].startswith("diverged at epoch ")
    epoch = int(body["error"].rsplit(" ", 1)[1])
    assert [p["epoch"] for p in points] == list(range(1, epoch))
