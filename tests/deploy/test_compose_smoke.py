"""docker-compose.yml, run natively: each service's command and environment as its container would get them.

No Docker engine runs here, so this is the proof that the compose file's commands, ports and variables work:

* every ``${VAR:-default}`` is resolved as ``docker compose`` does with no ``.env`` (the defaults);
* a container's environment is the image's ``ENV`` (from the Dockerfile's final stage) plus the service's
  ``environment``; its working directory an empty folder, like the image's ``/app``;
* ``redis`` is a test redis-server started with the compose command's flags (AOF, everysec, noeviction),
  its ``/data`` volume a temporary folder, and the host name ``redis`` in URLs points at it;
* the API runs the image's default command, on a free port instead of 8000 (``DESCENT_PORT``) and on
  127.0.0.1 instead of the container's 0.0.0.0;
* the workers run the compose command, ``deploy.replicas`` times;
* the healthchecks run as Docker would run them, in the service's environment.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis

from tests.deploy.compose import (
    duration_seconds,
    environment,
    image_cmd,
    image_env,
    image_healthcheck,
    interpolate,
    load_compose,
)
from tests.deploy.runtime import runtime_only_env
from tests.servers import free_port, redis_executable, wait_for_ping

pytestmark = pytest.mark.e2e

START_SECONDS = 60.0  # uvicorn and two workers importing NumPy and the trainer on a slow CI machine
JOB_SECONDS = 60.0
# What Docker waits after SIGTERM before SIGKILL when a service sets no stop_grace_period.
DOCKER_DEFAULT_GRACE_SECONDS = 10.0
SMALL_JOB = {"optimizer": {"name": "adam"}, "epochs": 30, "record_every": 10}
# Far longer than the test (300 steps an epoch), yet under the caps (epochs x examples = 30 M).
LONG_JOB = {"optimizer": {"name": "gd"}, "epochs": 100_000, "mini_batch_size": 1, "record_every": 1000}
TERMINAL = {"succeeded", "failed", "canceled"}


@dataclass
class Deployment:
    """The compose services as native processes, all started in their own sessions and stopped at the end."""

    compose: dict
    folder: Path
    redis_port: int = 0
    api_port: int = 0
    processes: dict[str, list[subprocess.Popen]] = field(default_factory=dict)
    before_workers: tuple[int | None, int] = (None, 0)  # /readyz status and API healthcheck exit code

    @property
    def services(self) -> dict:
        return self.compose["services"]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start_redis(self) -> None:
        """redis-server with the compose command's flags; /data is a temporary folder, no published port."""
        command = self.services["redis"]["command"]
        assert command[0] == "redis-server"
        data = self.folder / "redis-data"
        data.mkdir()
        self.redis_port = free_port()
        self._spawn("redis", [
            redis_executable(), *command[1:],
            "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(data),
            "--logfile", str(self.folder / "redis.log"),
        ], env=_base_env(self.folder), cwd=data)  # fmt: skip
        wait_for_ping(self.redis_url, timeout=10.0)

    def env(self, name: str, **overrides: str) -> dict[str, str]:
        """The environment of service ``name``'s container, its URLs routed to the test Redis."""
        env = {**_base_env(self.folder), **image_env()}
        for key, value in environment(self.services[name]).items():
            env[key] = _route(value, {"redis": f"127.0.0.1:{self.redis_port}"})
        return {**env, **overrides}

    def api_env(self, port: int | None = None) -> dict[str, str]:
        """The api service's environment, listening on 127.0.0.1:``port`` (the deployment's API port)."""
        return self.env("api", DESCENT_HOST="127.0.0.1", DESCENT_PORT=str(port or self.api_port))

    def start_api(self, port: int | None = None) -> subprocess.Popen:
        """The image's default command (the api service sets none) on ``port`` (the deployment's API port)."""
        assert "command" not in self.services["api"]
        return self._spawn("api", image_cmd(), env=self.api_env(port))

    def start_workers(self, replicas: int | None = None) -> list[subprocess.Popen]:
        """The worker service's command, ``deploy.replicas`` times (or ``replicas``)."""
        worker = self.services["worker"]
        count = worker["deploy"]["replicas"] if replicas is None else replicas
        return [self._spawn("worker", worker["command"], env=self.env("worker")) for _ in range(count)]

    def healthcheck(self, name: str, **overrides: str) -> subprocess.CompletedProcess:
        """Run service ``name``'s compose healthcheck (exec form) as Docker would, within its timeout."""
        test = self.services[name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        env = self.api_env() if name == "api" else self.env(name)
        return self.run(test[1:], env={**env, **overrides})

    def run(self, command: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            _resolve(command, env),
            env=dict(env),
            cwd=self._workdir(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def logs(self) -> str:
        """The tail of every service's log, for failure messages."""
        tails = [
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in self.folder.glob("*.log")
        ]
        return "\n".join(tails)

    def stop_all(self) -> None:
        """SIGKILL whatever is still running (each process group: `descent serve` has a uvicorn child)."""
        for group in self.processes.values():
            for process in group:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> subprocess.Popen:
        group = self.processes.setdefault(name, [])
        log = (self.folder / f"{name}-{len(group)}.log").open("w")
        process = subprocess.Popen(
            _resolve(command, env),
            env=env,
            cwd=cwd or self._workdir(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        group.append(process)
        return process

    def _workdir(self) -> Path:
        """The image's WORKDIR /app: an empty folder (no source tree, no .env)."""
        app = self.folder / "app"
        app.mkdir(exist_ok=True)
        return app


def _base_env(folder: Path) -> dict[str, str]:
    """What a container starts from before the image's ENV: PATH with the image's venv first, a HOME, and
    only the distributions the image installs importable."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        **runtime_only_env(),
    }


def _resolve(command: list[str], env: Mapping[str, str]) -> list[str]:
    """argv[0] looked up on the container's PATH (the image puts the venv first)."""
    found = shutil.which(command[0], path=env["PATH"])
    assert found, f"{command[0]} is not on the image's PATH"
    return [found, *command[1:]]


def _route(value: str, hosts: Mapping[str, str]) -> str:
    """A URL whose host is a compose service name, pointed at that service's native address."""
    if "://" not in value:
        return value
    parts = urlsplit(value)
    if parts.hostname not in hosts:
        return value
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{hosts[parts.hostname]}" if credentials else hosts[parts.hostname]
    return urlunsplit(parts._replace(netloc=netloc))


def _wait(
    predicate: Callable[[], bool],
    seconds: float,
    what: str,
    deployment: Deployment,
    watch: Iterable[subprocess.Popen] = (),
) -> None:
    """Poll ``predicate`` until true; fail after ``seconds``, or at once if a ``watch`` process exits."""
    deadline = time.monotonic() + seconds
    while not predicate():
        exited = [process.args[0] for process in watch if process.poll() is not None]
        if exited:
            pytest.fail(f"{what}: {exited} exited\n{deployment.logs()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s\n{deployment.logs()}")
        time.sleep(0.1)


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2.0).status_code
    except httpx.HTTPError:
        return None


def _answers(url: str, code: int) -> Callable[[], bool]:
    return lambda: _status(url) == code


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


def _grace_seconds(period: str | None) -> float:
    return DOCKER_DEFAULT_GRACE_SECONDS if period is None else duration_seconds(period)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Redis and the API up; `before_workers` records /readyz and the API healthcheck before any worker."""
    stack = Deployment(
        interpolate(load_compose(), {}), tmp_path_factory.mktemp("compose"), api_port=free_port()
    )
    try:
        stack.start_redis()
        api = stack.start_api()
        _wait(_answers(f"{stack.api}/healthz", 200), START_SECONDS, "the API did not answer", stack, [api])
        stack.before_workers = (_status(f"{stack.api}/readyz"), stack.healthcheck("api").returncode)
        workers = stack.start_workers()
        _wait(
            _answers(f"{stack.api}/readyz", 200),
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
    test = deployment.services["redis"]["healthcheck"]["test"]
    cli = Path(redis_executable()).with_name(test[1])
    command = [str(cli), "-p", str(deployment.redis_port), *test[2:]]
    run = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
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

    _wait(lambda: aof_bytes() > 0, 5.0, "no AOF in the data folder", deployment)


def test_sigterm_stops_a_busy_worker_within_its_grace_period(deployment: Deployment) -> None:
    """Docker stops a worker with SIGTERM, then SIGKILL after stop_grace_period: a worker in a long job must
    checkpoint and exit in time, and a new worker must take the job up again."""
    grace = _grace_seconds(deployment.services["worker"].get("stop_grace_period"))
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
    _wait(_answers(url, 200), START_SECONDS, "the second API did not answer", deployment, [api])
    grace = _grace_seconds(deployment.services["api"].get("stop_grace_period"))
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
        _wait(
            _answers(f"{keyed.api}/healthz", 200), START_SECONDS, "the keyed API did not answer", keyed, [api]
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
