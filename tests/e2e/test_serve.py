"""`descent serve` with no REDIS_URL: embedded Redis, API and a worker, a job, a clean Ctrl-C, data kept."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.helpers import follow_costs, job, submit, wait_for
from tests.servers import free_port

pytestmark = pytest.mark.e2e

STOP_DEADLINE_SECONDS = 15


def start_serve(port: int, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DESCENT_REDIS_URL")}
    command = [
        sys.executable,
        "-m",
        "descent",
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",
        "--data-dir",
        str(data_dir),
        "--no-access-log",
    ]
    with open(log, "ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def children(pid: int) -> dict[int, str]:
    """The process's children: pid → command line (Linux /proc)."""
    pids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(pid): Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in pids}


def only(processes: dict[int, str], kind: str) -> int:
    """The one pid whose command line holds ``kind``."""
    (pid,) = [pid for pid, command in processes.items() if kind in command]
    return pid


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def interrupt(process: subprocess.Popen) -> int:
    """Ctrl-C: SIGINT, and the exit code within the deadline."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(STOP_DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"descent serve still runs {STOP_DEADLINE_SECONDS} s after SIGINT") from None


def test_serve_runs_a_job_stops_on_ctrl_c_and_keeps_its_data(tmp_path: Path) -> None:
    port, data_dir, log = free_port(), tmp_path / "data", tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(port, data_dir, log)
    try:
        wait_for(lambda: ready(url), 60, "/readyz to answer 200")
        # the supervisor prints the URL once its own poll of /healthz passes, maybe after /readyz did
        docs = f"http://127.0.0.1:{port}/docs"
        output = wait_for(lambda: docs in log.read_text() and log.read_text(), 10, "the docs URL")
        redis_url = re.search(r"embedded Redis at (redis://\S+)", output).group(1)
        with httpx.Client(base_url=url, timeout=10) as client:
            job_id = submit(client, {"optimizer": {"name": "adam"}, "epochs": 200, "record_every": 50})
            points, status, _ = follow_costs(client, job_id, timeout=30)
        assert status == "succeeded"
        assert [p["epoch"] for p in points] == [1, 51, 101, 151, 200]
    finally:
        code = interrupt(serve)
    assert code == 0, log.read_text()
    assert "GET /readyz" not in log.read_text(), "--no-access-log: no access lines"
    with pytest.raises(redis.ConnectionError):  # the embedded Redis stopped with it
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    assert (data_dir / "appendonly.aof").stat().st_size > 0

    again = start_serve(port, data_dir, log)  # the same folder: the job is still there
    try:
        wait_for(lambda: ready(url), 60, "/readyz after a restart")
        with httpx.Client(base_url=url, timeout=10) as client:
            body = job(client, job_id)
            assert body["status"] == "succeeded"
            assert client.get(f"/jobs/{job_id}/model").status_code == 200
    finally:
        assert interrupt(again) == 0


def test_serve_restarts_a_killed_worker_pool_and_redis(tmp_path: Path) -> None:
    """The pool restarts a worker it lost (RQ's supervision); `descent serve` restarts the pool (taking its
    orphaned workers down first) and the embedded Redis."""
    port, log = free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(port, tmp_path / "data", log)
    try:
        wait_for(lambda: ready(url), 60, "/readyz to answer 200")
        pool = only(children(serve.pid), "descent worker")
        worker = only(children(pool), "descent worker")
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: pid_gone(worker) and replaced(pool, "descent worker", worker), 15, "a worker again")
        train_once(url, "a worker")

        worker = only(children(pool), "descent worker")
        os.kill(pool, signal.SIGKILL)  # its worker, orphaned, must be gone before the next job
        wait_for(lambda: pid_gone(worker) and replaced(serve.pid, "descent worker", pool), 15, "a new pool")
        train_once(url, "the pool")

        redis = only(children(serve.pid), "redis-server")
        os.kill(redis, signal.SIGKILL)
        wait_for(lambda: pid_gone(redis) and replaced(serve.pid, "redis-server", redis), 15, "Redis again")
        train_once(url, "Redis")
        new_pool = only(children(serve.pid), "descent worker")
        assert new_pool != pool and len(children(new_pool)) == 1, "one worker, no orphan of the old pool"
        assert "restarting it" in log.read_text()
    finally:
        assert interrupt(serve) == 0


def train_once(url: str, killed: str) -> None:
    """Once the service is ready again after ``killed`` was killed, a small job trains to the end."""
    wait_for(lambda: ready(url), 30, f"/readyz after killing {killed}")
    with httpx.Client(base_url=url, timeout=10) as client:
        job_id = submit(client, {"optimizer": {"name": "gd"}, "epochs": 50})
        assert follow_costs(client, job_id, timeout=30)[1] == "succeeded"


def replaced(parent: int, kind: str, old: int) -> bool:
    """Whether ``parent`` has one child whose command line holds ``kind`` again, and it is not ``old``."""
    pids = [pid for pid, command in children(parent).items() if kind in command]
    return len(pids) == 1 and pids[0] != old


def pid_gone(pid: int) -> bool:
    """Whether no living process has this pid (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True
