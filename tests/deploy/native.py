"""The compose services as native processes: each one's command and environment as its container gets them.

No Docker engine runs here; this is the next best thing:

* a service built from the Dockerfile gets the image's ``ENV`` (from the final stage) plus its compose
  ``environment``; its working directory is an empty folder, like the image's ``/app``, and only the
  distributions the image installs import (tests/deploy/runtime.py);
* ``redis`` is a test redis-server started with the compose command's flags, its ``/data`` volume a temporary
  folder; the host name ``redis`` in URLs points at it;
* ports are remapped to free ones on 127.0.0.1 (``DESCENT_PORT`` for the API, ``-p`` for ``redis-cli``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from descent.embedded_redis import free_port, kill_group, redis_server_binary, wait_for_ping
from tests.deploy.compose import duration_seconds, environment, image_cmd, image_env
from tests.deploy.runtime import runtime_only_env
from tests.leftovers import mark_session

# What Docker waits after SIGTERM before SIGKILL when a service sets no stop_grace_period.
DOCKER_DEFAULT_GRACE_SECONDS = 10.0
# How long stop_all lets the services stop on SIGTERM (descent serve stops its children) before SIGKILL.
STOP_ALL_GRACE_SECONDS = 15.0


@dataclass
class Deployment:
    """A resolved compose file's services as processes, each in its own session, killed by stop_all."""

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
        """The API's REDIS_URL (credentials included) routed to the test redis-server."""
        return self.env("api")["REDIS_URL"]

    def start_redis(self) -> None:
        """redis-server with the compose command's flags; /data is a temporary folder, no published port."""
        command = self.services["redis"]["command"]
        assert command[0] == "redis-server"
        data = self.folder / "redis-data"
        data.mkdir()
        self.redis_port = free_port()
        self.spawn("redis", [
            redis_server_binary(), *command[1:],
            "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(data),
            "--logfile", str(self.folder / "redis.log"),
        ], env=self.env("redis"), cwd=data)  # fmt: skip
        assert wait_for_ping(self.redis_url, timeout=10.0), f"redis-server did not start\n{self.logs()}"

    def env(self, name: str, **overrides: str) -> dict[str, str]:
        """The environment of service ``name``'s container, its URLs routed to the test Redis."""
        service = self.services[name]
        if "build" in service:
            env = {**base_env(self.folder), **image_env()}
        else:  # the official redis image: its tools on PATH
            env = base_env(self.folder, first_on_path=Path(redis_server_binary()).parent)
        for key, value in environment(service).items():
            env[key] = route(value, {"redis": f"127.0.0.1:{self.redis_port}"})
        return {**env, **overrides}

    def api_env(self, port: int | None = None) -> dict[str, str]:
        """The api service's environment, listening on 127.0.0.1:``port`` (the deployment's API port)."""
        return self.env("api", DESCENT_HOST="127.0.0.1", DESCENT_PORT=str(port or self.api_port))

    def start_api(self, port: int | None = None) -> subprocess.Popen:
        """The image's default command (the api service sets none) on ``port`` (the deployment's API port)."""
        assert "command" not in self.services["api"]
        return self.spawn("api", image_cmd(), env=self.api_env(port))

    def start_workers(self, replicas: int | None = None, **overrides: str) -> list[subprocess.Popen]:
        """The worker service's command, ``deploy.replicas`` times (or ``replicas``)."""
        worker = self.services["worker"]
        count = worker["deploy"]["replicas"] if replicas is None else replicas
        env = self.env("worker", **overrides)
        return [self.spawn("worker", worker["command"], env=env) for _ in range(count)]

    def healthcheck(self, name: str, **overrides: str) -> subprocess.CompletedProcess:
        """Run service ``name``'s compose healthcheck (exec form) as Docker would, within its timeout."""
        test = self.services[name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        command = test[1:]
        if name == "redis":  # redis-cli talks to the container's own 6379; here, to the remapped port
            command = [command[0], "-p", str(self.redis_port), *command[1:]]
        env = self.api_env() if name == "api" else self.env(name)
        return self.run(command, env={**env, **overrides})

    def run(self, command: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            resolve(command, env),
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
        """SIGTERM every service's process, so that `descent serve` stops the children it started in
        sessions of their own; after a short grace, SIGKILL whatever is left of each process group."""
        processes = [process for group in self.processes.values() for process in group]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_ALL_GRACE_SECONDS
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
            kill_group(process)

    def spawn(
        self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> subprocess.Popen:
        """Start ``command`` (argv[0] looked up on ``env``'s PATH) as one more process of service ``name``."""
        group = self.processes.setdefault(name, [])
        log = (self.folder / f"{name}-{len(group)}.log").open("w")
        process = subprocess.Popen(
            resolve(command, env),
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


def base_env(folder: Path, first_on_path: Path | None = None) -> dict[str, str]:
    """What a container starts from before its image's ENV: PATH with the image's tools first (the venv by
    default), a HOME, and only the distributions the image installs importable."""
    first = first_on_path or Path(sys.executable).parent
    return {
        "PATH": f"{first}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        **runtime_only_env(),
        **mark_session(),
    }


def resolve(command: list[str], env: Mapping[str, str]) -> list[str]:
    """argv[0] looked up on the container's PATH."""
    found = shutil.which(command[0], path=env["PATH"])
    assert found, f"{command[0]} is not on the image's PATH"
    return [found, *command[1:]]


def route(value: str, hosts: Mapping[str, str]) -> str:
    """A URL whose host is a compose service name, pointed at that service's native address."""
    if "://" not in value:
        return value
    parts = urlsplit(value)
    if parts.hostname not in hosts:
        return value
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{hosts[parts.hostname]}" if credentials else hosts[parts.hostname]
    return urlunsplit(parts._replace(netloc=netloc))


def wait(
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


def status(url: str) -> int | None:
    """The HTTP status of GET ``url``, None when nothing answers."""
    try:
        return httpx.get(url, timeout=2.0).status_code
    except httpx.HTTPError:
        return None


def answers(url: str, code: int) -> Callable[[], bool]:
    return lambda: status(url) == code


def grace_seconds(service: Mapping) -> float:
    """How long Docker waits between SIGTERM and SIGKILL for ``service``."""
    period = service.get("stop_grace_period")
    return DOCKER_DEFAULT_GRACE_SECONDS if period is None else duration_seconds(period)
