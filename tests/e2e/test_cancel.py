"""Cancel through the real service: a queued job never runs, a running one stops within a second."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from core.spec import TrainingSpec
from service.main import create_app
from tests.e2e.helpers import ServerThread, follow_costs, job, start_worker, submit, wait_for, wait_status
from tests.servers import free_port
from trainer import estimate

pytestmark = pytest.mark.e2e

LONG = {"optimizer": {"name": "adam"}, "epochs": 100_000, "record_every": 100}  # ~10 s if not canceled


@pytest.fixture
def idle_settings(e2e_settings: Settings) -> Settings:
    """The e2e Redis with a queue no worker listens on (yet)."""
    return e2e_settings.model_copy(update={"queue_name": f"idle-{uuid.uuid4().hex[:12]}"})


@pytest.fixture
def idle_client(idle_settings: Settings) -> Iterator[httpx.Client]:
    """A client of an API whose queue has no worker, so its jobs stay queued."""
    with (
        ServerThread(create_app(idle_settings), free_port()) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        yield http


def test_a_canceled_queued_job_never_runs(
    idle_client: httpx.Client, idle_settings: Settings, tmp_path: Path
) -> None:
    canceled = submit(idle_client, {"optimizer": {"name": "gd"}, "epochs": 50})
    kept = submit(idle_client, {"optimizer": {"name": "gd"}, "epochs": 50})
    response = idle_client.delete(f"/jobs/{canceled}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled"

    assert idle_settings.redis_url is not None
    burst = start_worker(idle_settings.redis_url, idle_settings.queue_name, tmp_path / "burst.log", "--burst")
    assert burst.wait(30) == 0  # runs what is queued, then exits

    assert job(idle_client, kept)["status"] == "succeeded"
    body = job(idle_client, canceled)
    assert body["status"] == "canceled"
    assert body["started_at"] is None
    assert body["progress"]["epoch"] == 0
    assert idle_client.get(f"/jobs/{canceled}/costs").json()["points"] == []


def test_a_running_job_stops_within_a_second_and_keeps_its_costs(client: httpx.Client) -> None:
    job_id = submit(client, LONG)
    running = wait_status(client, job_id, ("running",), timeout=10)
    assert running["started_at"] is not None
    wait_for(lambda: len(client.get(f"/jobs/{job_id}/costs").json()["points"]) >= 3, 10, "three cost points")
    before = job(client, job_id)["progress"]["epoch"]
    wait_for(lambda: job(client, job_id)["progress"]["epoch"] > before, 5, "progress to advance")

    asked = time.monotonic()
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code == 202, response.text
    body = wait_status(client, job_id, ("canceled",), timeout=5)
    stopped_after = time.monotonic() - asked
    assert stopped_after < 1.0, f"stopped {stopped_after:.2f} s after the cancel"

    points, status, _ = follow_costs(client, job_id, timeout=5)
    assert status == "canceled"
    epochs = [p["epoch"] for p in points]
    assert epochs == list(range(1, epochs[-1] + 1, 100))  # continuous, and kept
    assert len(epochs) >= 3
    assert epochs[-1] < LONG["epochs"]
    assert body["result"] is None and body["finished_at"] is not None
    assert client.get(f"/jobs/{job_id}/model").status_code == 409
    assert client.delete(f"/jobs/{job_id}").json()["status"] == "canceled"  # a second cancel changes nothing


def slowest_accepted_step(settings: Settings, share: float = 0.9) -> dict:
    """A full-batch job on moons whose one step is estimated at ``share`` of ``max_step_seconds``: about
    the slowest step the API accepts (a step is a whole pass over the examples)."""
    low, high = 1000, 1_000_000
    while high - low > 100:
        n = (low + high) // 2
        spec = TrainingSpec.model_validate(
            {"dataset": {"name": "moons", "n_samples": n}, "layers": [512], "mini_batch_size": "full"}
        )
        if estimate(spec.to_train_config(), 2, n).step_seconds < share * settings.max_step_seconds:
            low = n
        else:
            high = n
    return {"dataset": {"name": "moons", "n_samples": low}, "layers": [512], "mini_batch_size": "full"}


def test_a_job_with_the_slowest_step_the_caps_allow_stops_within_1_5_s(
    client: httpx.Client, e2e_settings: Settings
) -> None:
    spec = {**slowest_accepted_step(e2e_settings), "epochs": 500, "record_every": 1}
    job_id = submit(client, spec)
    wait_for(lambda: job(client, job_id)["progress"]["epoch"] >= 2, 60, "two steps")
    first, first_at = job(client, job_id)["progress"]["epoch"], time.monotonic()
    wait_for(lambda: job(client, job_id)["progress"]["epoch"] >= first + 2, 60, "two more steps")
    step_seconds = (time.monotonic() - first_at) / 2
    asked = time.monotonic()
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code == 202, response.text
    body = wait_status(client, job_id, ("canceled",), timeout=10)
    stopped_after = time.monotonic() - asked
    print(
        f"{spec['dataset']['n_samples']} examples, full batch, layers [512]: a step took about "
        f"{step_seconds:.2f} s; canceled {stopped_after:.2f} s after DELETE"
    )
    assert stopped_after < 1.5, f"stopped {stopped_after:.2f} s after the cancel"
    assert body["progress"]["epoch"] < spec["epochs"]
