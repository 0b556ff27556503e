"""A local `descent serve` protects its data: a second one on the same data folder, or on a busy port, is
refused before it starts anything, saying what to do instead, while the first keeps serving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import follow_costs, job, submit, wait_for
from tests.e2e.test_serve import interrupt, ready, start_serve
from tests.servers import free_port

pytestmark = pytest.mark.e2e

REFUSAL_SECONDS = 20


def redis_servers_on(data_dir: Path) -> list[int]:
    """PIDs of the redis-servers working in ``data_dir`` (Linux /proc: redis-server rewrites its command
    line to ``…/redis-server HOST:PORT`` and works in its ``--dir``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title, cwd = (entry / "cmdline").read_bytes(), (entry / "cwd").resolve()
            except OSError:
                continue
            if title.split(b" ")[0].endswith(b"redis-server") and cwd == data_dir:
                found.append(int(entry.name))
    return found


def run_serve(port: int, data_dir: Path) -> subprocess.CompletedProcess:
    """A second `descent serve`, which must exit by itself (refused) within the deadline."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DESCENT_REDIS_URL")}
    command = [sys.executable, "-m", "descent", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=REFUSAL_SECONDS)


def sizes(folder: Path) -> dict[str, int]:
    """Every file of the folder and its size."""
    return {str(path.relative_to(folder)): path.stat().st_size for path in folder.rglob("*")}


def test_a_second_serve_on_the_same_folder_is_refused_and_the_first_keeps_serving(tmp_path: Path) -> None:
    port, data_dir = free_port(), (tmp_path / "data").resolve()
    url = f"http://127.0.0.1:{port}"
    first = start_serve(port, data_dir, tmp_path / "first.log")
    try:
        wait_for(lambda: ready(url), 60, "/readyz of the first")
        with httpx.Client(base_url=url, timeout=10) as client:
            job_id = submit(client, {"optimizer": {"name": "adam"}, "epochs": 100, "record_every": 50})
            points, status, _ = follow_costs(client, job_id, timeout=30)
            assert status == "succeeded"
        (redis_pid,) = redis_servers_on(data_dir)
        lock = (data_dir / "descent-serve.lock").read_text()
        aof_before = sizes(data_dir / "appendonlydir")

        second = run_serve(free_port(), data_dir)

        assert second.returncode == 1
        message = second.stderr
        assert f"the data folder {data_dir} is in use by another descent serve (pid {first.pid}" in message
        assert f"API on 127.0.0.1:{port}" in message
        assert "make run PORT=" in message and "DESCENT_DATA_DIR" in message and "--data-dir" in message
        assert "Traceback" not in message and second.stdout == ""
        assert redis_servers_on(data_dir) == [redis_pid]  # no second Redis ever started on the folder
        assert (data_dir / "descent-serve.lock").read_text() == lock  # still the first's
        # the workers' heartbeats append to the AOF while the first runs; nothing else touched it
        after = sizes(data_dir / "appendonlydir")
        assert after.keys() == aof_before.keys()
        assert all(after[name] >= size for name, size in aof_before.items())
        assert ready(url)
        with httpx.Client(base_url=url, timeout=10) as client:
            body = job(client, job_id)
            assert body["status"] == "succeeded" and body["progress"]["epoch"] == 100
            assert [p["epoch"] for p in client.get(f"/jobs/{job_id}/costs").json()["points"]] == [
                p["epoch"] for p in points
            ]
    finally:
        assert interrupt(first) == 0
    assert redis_servers_on(data_dir) == []
    assert (data_dir / "descent-serve.lock").read_text() == ""  # released: the next run takes it at once


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        refused = run_serve(port, data_dir)
    assert refused.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in refused.stderr
    assert f"make run PORT={port + 1}" in refused.stderr and f"--port {port + 1}" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not data_dir.exists()  # no Redis, no lock left behind: the folder it made is gone again
    assert redis_servers_on(data_dir.resolve()) == []
