"""`descent serve` (API + N workers, embedded Redis if needed) and `descent worker` (one worker).

`descent serve` is a small supervisor. With no ``REDIS_URL`` it starts an embedded redis-server (data in
``settings.data_dir``, see :mod:`descent.embedded_redis`) and hands its URL to its children. It then
starts uvicorn (``service.main:create_app``) and N ``python -m worker`` processes, each in its own session
so a terminal's Ctrl-C reaches only the supervisor, which then stops them in order: API and workers
(SIGTERM; a worker checkpoints its running job and returns it to the queue), wait up to
``STOP_TIMEOUT_SECONDS``, SIGKILL what is left, and Redis last. A worker that dies is restarted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from descent.embedded_redis import start_redis, stop_process
from service.config import get_settings
from worker.runner import limit_blas_threads, one_blas_thread_env, run_worker

STOP_TIMEOUT_SECONDS = 10.0
API_START_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2


def worker(
    burst: Annotated[bool, typer.Option(help="Quit once the queue is empty.")] = False,
) -> None:
    """Run one RQ worker against REDIS_URL on the configured queue (DESCENT_QUEUE_NAME)."""
    limit_blas_threads()
    settings = get_settings()
    run_worker(settings.redis_url, settings.queue_name, burst=burst)


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [default: DESCENT_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the API [default: DESCENT_PORT].")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [default: DESCENT_WORKERS, one per core].")
    ] = None,
    api_processes: Annotated[int, typer.Option(help="uvicorn worker processes serving the API.")] = 1,
    data_dir: Annotated[
        Path | None, typer.Option(help="Embedded Redis data folder [default: DESCENT_DATA_DIR].")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every HTTP request.")] = True,
) -> None:
    """Start the API and N training workers; with no REDIS_URL, an embedded Redis too. Ctrl-C stops all."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    n_workers = settings.workers if workers is None else workers
    stop = _stop_on_signals()

    redis_process = None
    env = dict(os.environ)
    children: list[subprocess.Popen] = []
    try:
        if settings.redis_url is None:
            folder = data_dir or settings.data_dir
            redis_process, env["REDIS_URL"] = start_redis(folder)
            typer.echo(f"descent: embedded Redis at {env['REDIS_URL']}, data in {Path(folder).resolve()}")
        api = _start(_api_command(host, port, api_processes, access_log), env)
        children.append(api)
        worker_env = {**env, **one_blas_thread_env()}
        workers_running = [_start([sys.executable, "-m", "worker"], worker_env) for _ in range(n_workers)]
        children.extend(workers_running)
        if not _wait_for_api(host, port, api, stop):
            raise typer.Exit(1)
        typer.echo(f"descent: API docs at http://{_display_host(host)}:{port}/docs ({n_workers} workers)")
        _supervise(api, workers_running, worker_env, stop, children)
    finally:
        _stop_all(children)
        if redis_process is not None:
            stop_process(redis_process, STOP_TIMEOUT_SECONDS)
    if not stop.is_set():  # the API exited by itself
        raise typer.Exit(1)


def _api_command(host: str, port: int, processes: int, access_log: bool) -> list[str]:
    command = [
        sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory",
        "--host", host, "--port", str(port), "--workers", str(processes), "--timeout-graceful-shutdown", "5",
    ]
    return command if access_log else [*command, "--no-access-log"]


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child in its own session: the terminal's Ctrl-C goes to the supervisor only."""
    return subprocess.Popen(command, env=env, start_new_session=True)


def _stop_on_signals() -> threading.Event:
    """An Event set by SIGINT or SIGTERM (the supervisor then stops everything in order)."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _wait_for_api(host: str, port: int, api: subprocess.Popen, stop: threading.Event) -> bool:
    """True once GET /healthz answers 200; False if the API exits, a stop comes or the deadline passes."""
    url = f"http://{_display_host(host)}:{port}/healthz"
    deadline = time.monotonic() + API_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stop.is_set() and api.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.05)
    if not stop.is_set():
        typer.echo(f"descent: the API did not come up on {url}", err=True)
    return False


def _supervise(api: subprocess.Popen, workers: list[subprocess.Popen], worker_env: dict[str, str],
               stop: threading.Event, children: list[subprocess.Popen]) -> None:
    """Until a stop signal or the API's exit: restart any worker that exits."""
    while not stop.wait(POLL_SECONDS):
        if api.poll() is not None:
            typer.echo(f"descent: the API exited with code {api.returncode}", err=True)
            return
        for i, process in enumerate(workers):
            if process.poll() is not None:
                code = process.returncode
                typer.echo(f"descent: worker {process.pid} exited ({code}), restarting", err=True)
                workers[i] = _start([sys.executable, "-m", "worker"], worker_env)
                children.append(workers[i])


def _stop_all(children: list[subprocess.Popen]) -> None:
    """SIGTERM every child at once, wait for all up to STOP_TIMEOUT_SECONDS, then SIGKILL the rest."""
    running = [process for process in children if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _display_host(host: str) -> str:
    """A host a browser can open: the wildcard addresses become 127.0.0.1."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
