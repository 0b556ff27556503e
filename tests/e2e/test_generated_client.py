"""A client generated from the running service's /openapi.json by openapi-python-client drives the seed's
Adam job end to end: submit, poll costs, the result (accuracy 0.94), the model as JSON and as .npz, predict
(both layouts), and an uploaded dataset trained on. The generator must print no warning: every operation,
body and response of the document is one it can type."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.e2e.helpers import FINISHED
from trainer import load_builtin

pytestmark = pytest.mark.e2e

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "generated_descent_client"
CONFIG = {
    "post_hooks": [],  # no ruff run over the generated code
    # openapi-python-client types only JSON, text and octet-stream bodies; images are files to it
    "content_type_overrides": {
        "image/svg+xml": "application/octet-stream",
        "image/png": "application/octet-stream",
    },
}


@pytest.fixture(scope="module")
def generated(
    api_url: str, workers: list, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimpleNamespace]:
    """The generated package's modules, and a client of the running service."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.json"
    config.write_text(json.dumps(CONFIG))
    command = [str(GENERATOR), "generate", "--url", f"{api_url}/openapi.json", "--meta", "none"]
    command += ["--output-path", str(root / PACKAGE), "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        names = ["models", "types", "api.datasets.upload_dataset", "api.plots.plot_costs"]
        names += [f"api.jobs.{name}" for name in ("create_job", "get_job", "get_costs", "get_model")]
        names += ["api.jobs.download_model", "api.jobs.predict"]
        modules = {name: importlib.import_module(f"{PACKAGE}.{name}") for name in names}
        client = importlib.import_module(PACKAGE).Client(base_url=api_url, raise_on_unexpected_status=True)
        with client:
            yield SimpleNamespace(
                client=client, **{name.rsplit(".", 1)[-1]: m for name, m in modules.items()}
            )
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def follow(gen: SimpleNamespace, job_id: str, timeout: float) -> tuple[list, str]:
    """Poll get_costs with since= until the job finishes: every point once, and the final status."""
    points, since = [], 0
    deadline = time.monotonic() + timeout
    while True:
        page = gen.get_costs.sync(job_id, client=gen.client, since=since)
        assert isinstance(page, gen.models.CostsPage), page
        assert all(point.epoch > since for point in page.points)
        points += page.points
        since = page.next_since
        if page.status.value in FINISHED and not page.points:
            return points, page.status.value
        assert time.monotonic() < deadline, f"job {job_id} did not finish within {timeout} s"
        time.sleep(0.05)


def submit(gen: SimpleNamespace, spec: dict) -> str:
    response = gen.create_job.sync_detailed(client=gen.client, body=gen.models.TrainingSpec.from_dict(spec))
    assert response.status_code == 202
    job = response.parsed
    assert isinstance(job, gen.models.JobPublic) and job.status.value == "queued"
    assert response.headers["location"] == f"/jobs/{job.id}"
    return job.id


@pytest.mark.seed
def test_the_seed_s_adam_job_through_a_generated_client(generated: SimpleNamespace) -> None:
    gen = generated
    job_id = submit(gen, {"optimizer": {"name": "adam"}})
    points, status = follow(gen, job_id, timeout=120)
    epochs = [point.epoch for point in points]
    assert status == "succeeded" and epochs[0] == 1 and epochs[-1] == 10000 and epochs == sorted(set(epochs))
    job = gen.get_job.sync(job_id, client=gen.client)
    assert isinstance(job.spec.optimizer, gen.models.Adam) and job.spec.mini_batch_size == 64
    assert isinstance(job.spec.dataset, gen.models.BuiltinDataset) and job.spec.dataset.name.value == "moons"
    assert round(job.result.accuracy, 4) == 0.9400 and job.result.final_cost == points[-1].cost

    model = gen.get_model.sync(job_id, client=gen.client)
    assert isinstance(model, gen.models.ModelPublic) and model.layer_sizes == [2, 5, 2, 1]
    npz = gen.download_model.sync(job_id, client=gen.client)
    with np.load(io.BytesIO(npz.payload.read()), allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["W1", "W2", "W3", "b1", "b2", "b3"]
        np.testing.assert_array_equal(arrays["W1"], np.array(model.parameters["W1"]))

    X, Y = load_builtin("moons")
    by_columns = gen.predict.sync(job_id, client=gen.client, body=gen.models.PredictRequest(x=X.tolist()))
    by_rows = gen.predict.sync(job_id, client=gen.client, body=gen.models.PredictRequest(rows=X.T.tolist()))
    assert isinstance(by_columns, gen.models.Prediction) and by_rows.labels == by_columns.labels
    assert np.mean(np.array(by_columns.labels) == Y[0]) == pytest.approx(0.94, abs=5e-5)

    chart = gen.plot_costs.sync_detailed(
        client=gen.client, job=[job_id], format_=gen.models.PlotCostsFormat.PNG
    )
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")


def test_upload_a_dataset_and_train_on_it_through_a_generated_client(generated: SimpleNamespace) -> None:
    gen = generated
    X, Y = load_builtin("circles", n_samples=120, noise=0.1, seed=4)
    csv = "x1,x2,label\n" + "".join(f"{a},{b},{int(y)}\n" for a, b, y in zip(X[0], X[1], Y[0], strict=True))
    file = gen.types.File(payload=io.BytesIO(csv.encode()), file_name="circles.csv", mime_type="text/csv")
    body = gen.models.BodyUploadDataset(file=file)
    dataset = gen.upload_dataset.sync(client=gen.client, body=body)
    assert isinstance(dataset, gen.models.DatasetPublic), dataset
    assert (dataset.n_features, dataset.n_examples, dataset.format_.value) == (2, 120, "csv")

    spec = {"dataset": {"id": dataset.id}, "layers": [8], "mini_batch_size": "full", "epochs": 300,
            "optimizer": {"name": "adam", "learning_rate": 0.05}}  # fmt: skip
    job_id = submit(gen, spec)
    points, status = follow(gen, job_id, timeout=60)
    assert status == "succeeded" and points[-1].epoch == 300
    job = gen.get_job.sync(job_id, client=gen.client)
    assert isinstance(job.spec.dataset, gen.models.UploadedDataset) and job.spec.dataset.id == dataset.id
    assert job.spec.mini_batch_size == gen.models.TrainingSpecMiniBatchSizeType1.FULL
    assert job.result.accuracy > 0.9

    error = gen.create_job.sync(client=gen.client, body=gen.models.TrainingSpec.from_dict({"epochs": 0}))
    assert isinstance(error, gen.models.ErrorBody)
    (field,) = error.detail
    assert isinstance(field, gen.models.FieldError) and field.loc == ["body", "epochs"]
