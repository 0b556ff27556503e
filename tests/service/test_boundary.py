"""GET /jobs/{id}/boundary: the course's decision boundary of a succeeded 2-feature job, as JSON, PNG and
SVG; capped by its settings; 409 before the job succeeded, 422 for a model of another width; with
?epoch=, the boundary of a frame taken during training, for a job in any status."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient
from matplotlib.image import imread

from core.config import Settings
from core.frames import frame_bytes, frame_epochs, frame_parameters
from core.queue import JobQueue
from core.store import JobStore
from service.main import create_app
from tests.worker.test_tasks import create, execute
from trainer.network import initialize_parameters, layer_sizes, pack, predict_proba

X = [[-0.5, 0.0, 0.3, 1.0, 1.5], [0.2, -0.1, 0.3, 0.1, 0.4]]
Y = [0, 1, 1, 0, 1]


# sigmoid(relu(x1) - relu(-x1)) = sigmoid(x1): label 1 right of x1 = 0, label 0 left of it
SPLIT_AT_ZERO = {
    "W1": np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]),
    "b1": np.zeros((4, 1)),
    "W2": np.array([[1.0, -1.0, 0.0, 0.0]]),
    "b2": np.zeros((1, 1)),
}


def succeeded(
    client: TestClient, store: JobStore, dataset: dict, n_features: int = 2, parameters: dict | None = None
) -> tuple[str, dict]:
    """A job on ``dataset`` that succeeded with ``parameters`` (a fixed random model of ``n_features``
    inputs by default)."""
    job_id = client.post("/jobs", json={"epochs": 5, "layers": [4], "dataset": dataset}).json()["id"]
    parameters = parameters or initialize_parameters((n_features, 4, 1), 7)
    assert store.start_run(job_id, "run", rq_job=job_id)
    assert store.succeed(job_id, {"accuracy": 0.5}, parameters)
    return job_id, parameters


def test_json_is_the_models_output_over_a_grid_covering_the_data(client: TestClient, store: JobStore) -> None:
    job_id, parameters = succeeded(client, store, {"X": X, "Y": Y})
    response = client.get(f"/jobs/{job_id}/boundary")
    assert response.status_code == 200, response.text
    body = response.json()
    x, y, grid = np.array(body["x"]), np.array(body["y"]), np.array(body["probabilities"])
    # the course's grid: each range widened by 1 with a step of 0.01 (y: 2.5 wide, 250 points); x is 4
    # wide, 400 points at 0.01, over the cap of 300 points per axis: a coarser step
    assert x[0] == pytest.approx(-1.5) and y[0] == pytest.approx(-1.1)
    assert len(y) == 250 and np.diff(y) == pytest.approx(0.01, abs=1e-6)
    assert len(x) == 300 and np.diff(x) == pytest.approx(4 / 300, abs=1e-6)
    assert grid.shape == (len(y), len(x))
    rng = np.random.default_rng(0)
    for i, j in zip(rng.integers(0, len(y), 20), rng.integers(0, len(x), 20), strict=True):
        expected = predict_proba(parameters, np.array([[x[j]], [y[i]]]))[0, 0]
        assert grid[i, j] == pytest.approx(expected, abs=1e-4)
    assert body["points"] == {"x": X[0], "y": X[1], "label": Y}
    assert response.headers["cache-control"] == "private, max-age=3600"


def test_png_and_svg_fill_both_regions_and_draw_the_points(client: TestClient, store: JobStore) -> None:
    job_id, _ = succeeded(client, store, {"name": "moons"}, parameters=SPLIT_AT_ZERO)
    png = client.get(f"/jobs/{job_id}/boundary", params={"format": "png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    pixels = imread(io.BytesIO(png.content))[..., :3]
    red = pixels[..., 0] > pixels[..., 2] + 0.08
    blue = pixels[..., 2] > pixels[..., 0] + 0.08
    assert red.mean() > 0.1 and blue.mean() > 0.1, "both predicted labels' regions are filled"
    middle = pixels.shape[0] // 2
    columns = np.flatnonzero(red[middle] | blue[middle])
    assert red[middle, columns[0]] and blue[middle, columns[-1]], (
        "label 0 (red) left of x1 = 0, 1 (blue) right"
    )
    svg = client.get(f"/jobs/{job_id}/boundary", params={"format": "svg"})
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    assert svg.content.count(b"<use ") >= 300, "the 300 moons points are drawn"


@pytest.fixture
def capped(settings: Settings, redis_client: redis.Redis) -> Iterator[tuple[TestClient, JobStore]]:
    tuned = settings.model_copy(update={"boundary_grid_max": 40, "boundary_max_points": 25})
    with TestClient(create_app(tuned)) as client:
        yield client, JobStore(redis_client, tuned)


def test_the_grid_and_the_points_are_capped_by_settings(capped: tuple[TestClient, JobStore]) -> None:
    client, store = capped
    job_id, _ = succeeded(client, store, {"name": "moons"})
    body = client.get(f"/jobs/{job_id}/boundary").json()
    assert len(body["x"]) == len(body["y"]) == 40
    assert len(body["points"]["label"]) == 25
    assert client.get(f"/jobs/{job_id}/boundary").json() == body, "the same subset every time"
    small = client.get(f"/jobs/{job_id}/boundary", params={"grid": 12}).json()
    assert len(small["x"]) == len(small["y"]) == len(small["probabilities"]) == 12
    wide = client.get(f"/jobs/{job_id}/boundary", params={"grid": 2000}).json()
    assert len(wide["x"]) == 40, "the setting caps what a client asks for"
    for bad in (9, 2001):
        response = client.get(f"/jobs/{job_id}/boundary", params={"grid": bad})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "grid"]


def test_unfinished_jobs_and_other_widths_get_clear_errors(client: TestClient, store: JobStore) -> None:
    queued = client.post("/jobs", json={"epochs": 5}).json()["id"]
    response = client.get(f"/jobs/{queued}/boundary")
    assert response.status_code == 409 and "queued" in response.json()["detail"]
    three = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]
    wide, _ = succeeded(client, store, {"X": three, "Y": [0, 1]}, n_features=3)
    response = client.get(f"/jobs/{wide}/boundary", params={"format": "png"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["path", "job_id"] and "3 features" in error["msg"]
    job_id, _ = succeeded(client, store, {"X": X, "Y": Y})
    response = client.get(f"/jobs/{job_id}/boundary", params={"format": "gif"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "format"]
    assert client.get(f"/jobs/{'f' * 32}/boundary").status_code == 404


def test_epoch_draws_the_frame_at_or_before_it_and_lists_the_frames(
    client: TestClient, store: JobStore, jobs: JobQueue
) -> None:
    job_id = create(store, optimizer={"name": "adam", "learning_rate": 0.01}, epochs=200, record_every=10)
    assert execute(jobs, job_id) == "succeeded"
    frames = frame_epochs(200, jobs.settings.boundary_frames)
    final = client.get(f"/jobs/{job_id}/boundary", params={"grid": 20}).json()
    assert final["epoch"] == 200 and final["frames"] == frames
    first = client.get(f"/jobs/{job_id}/boundary", params={"grid": 20, "epoch": 1})
    assert first.status_code == 200, first.text
    assert first.json()["epoch"] == 1 and first.json()["frames"] == frames
    assert first.headers["cache-control"] == "private, max-age=3600", "a finished job's frames never change"
    assert first.json()["probabilities"] != final["probabilities"]
    between = frames[3] + 1
    body = client.get(f"/jobs/{job_id}/boundary", params={"grid": 20, "epoch": between}).json()
    assert body["epoch"] == frames[3], "the largest recorded epoch at or before ?epoch="
    found = store.get_frame(job_id, frames[3])
    assert found is not None
    parameters = frame_parameters(found[1], layer_sizes(2, [5, 2]))
    x, y = body["x"][7], body["y"][11]
    expected = predict_proba(parameters, np.array([[x], [y]]))[0, 0]
    assert body["probabilities"][11][7] == pytest.approx(expected, abs=1e-4)
    last = client.get(f"/jobs/{job_id}/boundary", params={"grid": 20, "epoch": 10**6}).json()
    assert last["epoch"] == 200 and last["probabilities"] == final["probabilities"]
    png = client.get(f"/jobs/{job_id}/boundary", params={"format": "png", "epoch": 1})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content != client.get(f"/jobs/{job_id}/boundary", params={"format": "png"}).content


def test_a_running_jobs_boundary_is_live_and_not_cached(client: TestClient, store: JobStore) -> None:
    body = {"epochs": 20, "layers": [4], "dataset": {"X": X, "Y": Y}}
    job_id = client.post("/jobs", json=body).json()["id"]
    assert store.start_run(job_id, "run", rq_job=job_id)
    flipped = {**SPLIT_AT_ZERO, "W2": -SPLIT_AT_ZERO["W2"]}
    sizes = layer_sizes(2, [4])
    frames = {5: frame_bytes(pack(SPLIT_AT_ZERO, sizes)), 10: frame_bytes(pack(flipped, sizes))}
    store.save_frames({job_id: frames})
    early = client.get(f"/jobs/{job_id}/boundary", params={"epoch": 4})
    assert early.status_code == 409 and "epoch 5" in early.json()["detail"]
    assert client.get(f"/jobs/{job_id}/boundary").status_code == 409, "no final model while running"
    response = client.get(f"/jobs/{job_id}/boundary", params={"epoch": 9})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store", "a running job's frames grow"
    body = response.json()
    assert body["epoch"] == 5 and body["frames"] == [5, 10]
    x = np.array(body["x"])
    row = np.array(body["probabilities"][0])
    assert np.all(row[x > 0.01] > 0.5) and np.all(row[x < -0.01] < 0.5), "label 1 right of x1 = 0"
    later = np.array(client.get(f"/jobs/{job_id}/boundary", params={"epoch": 10}).json()["probabilities"][0])
    assert np.all(later[x > 0.01] < 0.5), "the frame at epoch 10 is the flipped model"
    for bad in (0, -1):
        response = client.get(f"/jobs/{job_id}/boundary", params={"epoch": bad})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "epoch"]


def test_epoch_on_a_model_of_another_width_is_a_422(client: TestClient, store: JobStore) -> None:
    three = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]
    wide, _ = succeeded(client, store, {"X": three, "Y": [0, 1]}, n_features=3)
    response = client.get(f"/jobs/{wide}/boundary", params={"epoch": 1})
    assert response.status_code == 422 and "3 features" in response.json()["detail"][0]["msg"]
    job_id, _ = succeeded(client, store, {"X": X, "Y": Y})
    response = client.get(f"/jobs/{job_id}/boundary", params={"epoch": 1})
    assert response.status_code == 409 and "none" in response.json()["detail"], "2 features, no frames"
