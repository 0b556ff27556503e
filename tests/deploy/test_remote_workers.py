"""docs/deployment.md's recipe for workers on other machines, taken from the page and run natively.

The page's ``docker-compose.override.yml`` (a password, the published port) merged into docker-compose.yml,
its ``.env`` lines, and its ``docker run ... descent worker``: Redis refuses clients without the password,
its healthcheck still passes, and a job posted to the API is trained by the "remote" worker.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import redis
import yaml

from tests.deploy.compose import ROOT, image_env, interpolate, load_compose, merge
from tests.deploy.native import Deployment, answers, base_env, grace_seconds, route, wait
from tests.servers import free_port

DOCS = ROOT / "docs" / "deployment.md"
SCHEMA = Path(__file__).with_name("compose-spec.json")
START_SECONDS = 60.0
JOB = {"optimizer": {"name": "momentum"}, "epochs": 20, "record_every": 10}
# docker run flags that take a value (the others used on the page are switches).
RUN_OPTIONS_WITH_VALUE = {"--name", "--restart", "--stop-timeout", "-e", "--env"}


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), re.S)


def _override() -> dict:
    (block,) = [block for block in _code_blocks("yaml") if "requirepass" in block]
    return yaml.safe_load(block)


def _dotenv() -> dict[str, str]:
    """The page's `.env` lines for the Redis host."""
    (block,) = [block for block in _code_blocks("sh") if re.search(r"^REDIS_PASSWORD=", block, re.M)]
    lines = [line for line in block.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def _docker_run() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The page's `docker run` of a remote worker: (options, -e variables, the command after the image)."""
    (block,) = [block for block in _code_blocks("sh") if "docker run" in block and "descent worker" in block]
    words = shlex.split(block.replace("\\\n", " "))
    words = words[words.index("run") + 1 :]
    options: dict[str, str] = {}
    variables: dict[str, str] = {}
    while words[0].startswith("-"):
        flag = words.pop(0)
        value = words.pop(0) if flag in RUN_OPTIONS_WITH_VALUE else ""
        if flag in ("-e", "--env"):
            name, _, text = value.partition("=")
            variables[name] = text
        else:
            options[flag] = value
    return options, variables, words[1:]


def test_the_override_is_a_valid_compose_file() -> None:
    merged = merge(load_compose(), _override())
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(merged)


def test_the_override_keeps_persistence_and_needs_a_password() -> None:
    merged = merge(load_compose(), _override())
    with pytest.raises(ValueError, match="REDIS_PASSWORD"):
        interpolate(merged, {})
    redis_service = interpolate(merged, _dotenv())["services"]["redis"]
    command = redis_service["command"]
    flags = dict(zip(command[1::2], command[2::2], strict=True))
    assert flags["--requirepass"] == _dotenv()["REDIS_PASSWORD"]
    assert (flags["--appendonly"], flags["--appendfsync"], flags["--maxmemory-policy"]) == (
        "yes",
        "everysec",
        "noeviction",
    )
    assert redis_service["ports"] == ["6379:6379"]


def test_the_remote_worker_matches_the_compose_worker() -> None:
    options, variables, command = _docker_run()
    worker = load_compose()["services"]["worker"]
    assert command == worker["command"]
    assert float(options["--stop-timeout"]) == grace_seconds(worker)
    assert "--init" in options and options.get("--restart") == worker["restart"]
    assert urlsplit(variables["REDIS_URL"]).password == _dotenv()["REDIS_PASSWORD"]


def _start_remote_worker(stack: Deployment) -> tuple[subprocess.Popen, float]:
    """The page's `docker run`: the image's ENV plus its -e variables, its Redis host routed to the test
    redis-server. Returns the process and its --stop-timeout."""
    options, variables, command = _docker_run()
    redis_host = urlsplit(variables["REDIS_URL"]).hostname
    env = {**base_env(stack.folder), **image_env()}
    for name, value in variables.items():
        env[name] = route(value, {redis_host: f"127.0.0.1:{stack.redis_port}"})
    return stack.spawn("remote-worker", command, env=env), float(options["--stop-timeout"])


@pytest.mark.e2e
def test_a_remote_worker_trains_through_a_password_protected_redis(tmp_path: Path) -> None:
    merged = interpolate(merge(load_compose(), _override()), _dotenv())
    stack = Deployment(merged, tmp_path, api_port=free_port())
    try:
        stack.start_redis()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=stack.redis_port, socket_timeout=2).ping()
        check = stack.healthcheck("redis")
        assert (check.returncode, check.stdout.strip()) == (0, "PONG"), check.stderr

        worker, stop_timeout = _start_remote_worker(stack)
        api = stack.start_api()
        ready = answers(f"{stack.api}/readyz", 200)
        wait(ready, START_SECONDS, "/readyz with the remote worker", stack, [api, worker])

        posted = httpx.post(f"{stack.api}/jobs", json=JOB, timeout=10.0)
        assert posted.status_code == 202, posted.text
        job_url = f"{stack.api}/jobs/{posted.json()['id']}"

        def succeeded() -> bool:
            return httpx.get(job_url, timeout=5.0).json()["status"] == "succeeded"

        wait(succeeded, START_SECONDS, "the job did not succeed on the remote worker", stack, [worker])
        worker.send_signal(signal.SIGTERM)
        worker.wait(stop_timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the remote worker outlived --stop-timeout\n{stack.logs()}")
    finally:
        stack.stop_all()
