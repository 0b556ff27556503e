"""docker-compose.yml, run natively (tests/deploy/native.py): each service's command and environment as its
container would get them, every ``${VAR:-default}`` resolved as ``docker compose`` does with no ``.env``.

No Docker engine runs here, so this is the proof that the compose file's commands, ports and variables work:
the API is ready once a worker runs, the healthchecks pass (and can fail), a job runs end to end on the
compose Redis flags, and each service stops within its grace period.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.deploy.compose import image_healthcheck, interpolate, load_compose
from tests.deploy.native import Deployment, answers, grace_seconds, status, wait
from tests.servers import free_port

pytestmark = pytest.mark.e2e

START_SECONDS = 60.0  # uvicorn and two workers importing NumPy and the trainer on a slow CI machine
JOB_SECONDS = 60.0
SMALL_JOB = {"optimizer": {"name": "adam"}, "epochs": 30, "record_every": 10}
# Far longer than the test (300 steps an epoch), yet under the caps (epochs x examples = 30 M).
LONG_JOB = {"optimizer": {"name": "gd"}, "epochs": 10_000, "mini_batch_size": 1, "record_every": 100}
TERMINAL = {"succeeded", "failed", "canceled"}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Redis and the API up; `before_workers` records /readyz and the API healthcheck before any worker."""
    stack = Deployment(
        interpolate(load_compose(), {}), tmp_path_factory.mktemp("compose"), api_port=free_port()
    )
    try:
        stack.start_redis()
        api = stack.start_api()
        wait(answers(f"{stack.api}/healthz", 200), START_SECONDS, "the API did not answer", stack, [api])
        stack.before_workers = (status(f"{stack.api}/readyz"), stack.healthcheck("api").returncode)
        workers = stack.start_workers()
        wait(
            answers(f"{stack.api}/readyz", 200),
            START_SECONDS,
            "/readyz did not become 200",
            stack,
            [api, *workers],
        )
        yield stack
    finally:
        stack.stop_all()


def test_redis_runs_with_the_compose_persistence_flags(deployment: Deployment) -> None:
    client = redis.Redis.from_url(deployment.redis_url)
    try:
        config = {
            key: client.config_get(key)[key] for key in ("appendonly", "appendfsync", "maxmemory-policy")
        }
    finally:
        client.close()
    assert config == {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"}


def test_redis_healthcheck(deployment: Deployment) -> None:
    run = deployment.healthcheck("redis")
    assert (run.returncode, run.stdout.strip()) == (0, "PONG")


def test_api_is_ready_only_once_a_worker_runs(deployment: Deployment) -> None:
    readyz, check = deployment.before_workers
    assert readyz == 503 and check != 0, "no worker yet: /readyz 503 and the compose healthcheck failing"
    run = deployment.healthcheck("api")
    assert run.returncode == 0, run.stderr


def test_healthchecks_pass_and_fail(deployment: Deployment) -> None:
    image_check = deployment.run(image_healthcheck(), env=deployment.api_env())
    assert image_check.returncode == 0, image_check.stderr
    worker_check = deployment.healthcheck("worker")
    assert worker_check.returncode == 0, worker_check.stderr
    nothing_there = deployment.healthcheck("api", DESCENT_PORT=str(free_port()))
    assert nothing_there.returncode != 0, "a healthcheck that cannot fail proves nothing"


def test_a_job_end_to_end(deployment: Deployment) -> None:
    posted = httpx.post(f"{deployment.api}/jobs", json=SMALL_JOB, timeout=10.0)
    assert posted.status_code == 202, posted.text
    job_id = posted.json()["id"]
    job = _wait_for_job(deployment, job_id, TERMINAL, JOB_SECONDS)
    assert job["status"] == "succeeded", job
    assert 0.0 <= job["result"]["accuracy"] <= 1.0
    model = httpx.get(f"{deployment.api}/jobs/{job_id}/model", timeout=10.0)
    assert model.status_code == 200, model.text
    parameters = _find_parameters(model.json())
    assert sorted(parameters) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert [len(parameters["W1"]), len(parameters["W1"][0])] == [5, 2], "moons: 2 features, 5 units"


def test_aof_reaches_the_data_volume(deployment: Deployment) -> None:
    """With appendfsync everysec, what the job wrote is in the volume's AOF within about a second."""
    data = deployment.folder / "redis-data"

    def aof_bytes() -> int:
        files = [path for path in data.rglob("*.aof") if path.is_file()]
        return sum(path.stat().st_size for path in files)

    wait(lambda: aof_bytes() > 0, 5.0, "no AOF in the data folder", deployment)


def test_sigterm_stops_a_busy_worker_within_its_grace_period(deployment: Deployment) -> None:
    """Docker stops a worker with SIGTERM, then SIGKILL after stop_grace_period: a worker in a long job must
    checkpoint and exit in time, and a new worker must take the job up again."""
    grace = grace_seconds(deployment.services["worker"])
    posted = httpx.post(f"{deployment.api}/jobs", json=LONG_JOB, timeout=10.0)
    assert posted.status_code == 202, posted.text
    busy = posted.json()["id"]
    try:
        _wait_for_job(deployment, busy, {"running"}, JOB_SECONDS, min_epoch=1)
        workers = [process for process in deployment.processes["worker"] if process.poll() is None]
        started = time.monotonic()
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(max(0.1, grace - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a worker outlived stop_grace_period={grace} s\n{deployment.logs()}")
        requeued = _wait_for_job(deployment, busy, {"queued", *TERMINAL}, 10.0)
        assert requeued["status"] == "queued" and requeued["progress"]["epoch"] > 0, (
            "checkpointed, back in the queue"
        )
        deployment.start_workers()
        _wait_for_job(deployment, busy, {"running"}, START_SECONDS, min_epoch=requeued["progress"]["epoch"])
    finally:
        httpx.delete(f"{deployment.api}/jobs/{busy}", timeout=10.0)
    assert _wait_for_job(deployment, busy, TERMINAL, JOB_SECONDS)["status"] == "canceled"


def test_sigterm_stops_the_api_within_its_grace_period(deployment: Deployment) -> None:
    """A second API process (so the deployment's stays up), stopped as Docker would stop the container."""
    port = free_port()
    api = deployment.start_api(port)
    url = f"http://127.0.0.1:{port}/healthz"
    wait(answers(url, 200), START_SECONDS, "the second API did not answer", deployment, [api])
    grace = grace_seconds(deployment.services["api"])
    api.send_signal(signal.SIGTERM)
    try:
        api.wait(grace)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the API outlived its {grace} s grace period\n{deployment.logs()}")


def test_a_variable_from_dotenv_reaches_the_api(deployment: Deployment) -> None:
    """`.env` with API_KEYS=...: compose puts it in the API's environment, and the API enforces it."""
    folder = deployment.folder / "with-dotenv"
    folder.mkdir()
    keyed = Deployment(
        interpolate(load_compose(), {"API_KEYS": "k-one,k-two"}),
        folder,
        redis_port=deployment.redis_port,
        api_port=free_port(),
    )
    try:
        api = keyed.start_api()
        wait(
            answers(f"{keyed.api}/healthz", 200), START_SECONDS, "the keyed API did not answer", keyed, [api]
        )
        assert httpx.get(f"{keyed.api}/jobs", timeout=5.0).status_code == 401
        authorized = httpx.get(f"{keyed.api}/jobs", headers={"Authorization": "Bearer k-two"}, timeout=5.0)
        assert authorized.status_code == 200, authorized.text
    finally:
        keyed.stop_all()


def _find_parameters(body: object) -> dict:
    """The ``{"W1": [[...]], "b1": ...}`` mapping in the model response, wherever the API nests it."""
    if isinstance(body, dict):
        if "W1" in body:
            return body
        for value in body.values():
            found = _find_parameters(value)
            if found:
                return found
    return {}


def _wait_for_job(
    deployment: Deployment, job_id: str, statuses: set[str], seconds: float, min_epoch: int = 0
) -> dict:
    """GET /jobs/{id} until its status is one of ``statuses`` with at least ``min_epoch`` epochs done."""
    deadline = time.monotonic() + seconds
    while True:
        job = httpx.get(f"{deployment.api}/jobs/{job_id}", timeout=5.0).json()
        if job["status"] in statuses and job["progress"]["epoch"] >= min_epoch:
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} not {statuses} at epoch >= {min_epoch} in {seconds} s: {job}")
        time.sleep(0.1)
