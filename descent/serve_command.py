"""`descent serve` (API + N workers, embedded Redis if needed) and `descent worker` (one worker).

`descent serve` is a small supervisor. Before it starts anything it checks that the API's port is free
and, with no ``REDIS_URL``, takes the data folder's lock (:mod:`descent.run_guard`): a second run on the
same folder or port is refused with what to do instead. With no ``REDIS_URL`` it starts an embedded
redis-server (data in ``settings.data_dir``, see :mod:`descent.embedded_redis`) and hands its URL to its
children, with the metrics' multiprocess folder (:mod:`descent.serve_metrics`). It then
starts uvicorn (``service.main:create_app``) and ``descent worker --processes N`` (RQ's worker pool, which
restarts a worker that dies), each in its own session so a terminal's Ctrl-C reaches only the supervisor,
which then stops them in order: API and workers (SIGTERM; a worker checkpoints its running job and returns
it to the queue), wait up to ``STOP_TIMEOUT_SECONDS``, SIGKILL each child's whole process group (uvicorn's
and the pool's processes), and Redis last. The pool or the embedded Redis exiting is restarted (after 1,
2, 4 … up to ``MAX_RESTART_DELAY_SECONDS`` if it keeps exiting); the API exiting stops everything with an
error.
"""

from __future__ import annotations

import contextlib
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

from core.config import Settings, get_settings
from descent.embedded_redis import EmbeddedRedisError, kill_group, start_redis, stop_process
from descent.run_guard import DataDirLock, RunRefused, check_port
from descent.serve_logs import UvicornLogConfig, say
from descent.serve_metrics import ServeMetrics

API_APP = "service.main:create_app"
STOP_TIMEOUT_SECONDS = 10.0
API_START_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2
MAX_RESTART_DELAY_SECONDS = 30.0
STABLE_SECONDS = 60.0


def worker(
    processes: Annotated[int, typer.Option(min=1, help="Worker processes (one job each at a time).")] = 1,
    burst: Annotated[bool, typer.Option(help="Quit once the queue is empty.")] = False,
) -> None:
    """Run RQ workers against REDIS_URL on the configured queue (DESCENT_QUEUE_NAME)."""
    from worker.runner import run_pool  # NumPy and the trainer load only for this command

    run_pool(get_settings(), processes, burst=burst)


def _default(field: str, text: str = "") -> str:
    """A default as ``--help`` shows it: the setting's variable, else its default value."""
    value = text or Settings.model_fields[field].default
    return f"${Settings.model_config['env_prefix']}{field.upper()} or {value}"


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on.", show_default=_default("host"))
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port of the API.", show_default=_default("port"))] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes.", show_default=_default("workers", "one per core")),
    ] = None,
    api_processes: Annotated[int, typer.Option(min=1, help="uvicorn processes serving the API.")] = 1,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="The embedded Redis's data folder (locked while this runs).",
            show_default=_default("data_dir"),
        ),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every HTTP request.")] = True,
) -> None:
    """Start the API and N training workers; with no REDIS_URL, an embedded Redis too. Ctrl-C stops all.

    Refused, before anything starts, if the port is taken or another descent serve holds the data folder.
    """
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    n_workers = settings.workers if workers is None else workers
    lock = None if settings.redis_url else DataDirLock(Path(data_dir or settings.data_dir))
    try:
        if lock is not None:
            lock.acquire(host, port)
        check_port(host, port)
        if settings.metrics_enabled and settings.metrics_port:
            check_port(settings.metrics_host, settings.metrics_port)
    except RunRefused as exc:
        if lock is not None:
            lock.discard()
        say(str(exc), error=True)
        raise typer.Exit(1) from None
    if lock is not None and lock.took_over():
        say(f"took over the lock of {lock.data_dir}: its process ({lock.took_over()}) is gone")
    stop = _stop_on_signals()
    redis: EmbeddedRedis | None = None
    children: list[Child] = []
    metrics, logs = ServeMetrics(settings), UvicornLogConfig(settings)
    try:
        env = dict(os.environ)
        if lock is not None:
            redis = EmbeddedRedis(lock, settings.redis_maxmemory_bytes)
            env["REDIS_URL"] = redis.url
            say(f"embedded Redis at {redis.url}, data in {redis.data_dir}")
        command = api_command(host, port, api_processes, access_log, logs.uvicorn_options())
        api = Child("API", command, {**env, **metrics.env()})
        children = [api]
        if n_workers:
            pool = [sys.executable, "-m", "descent", "worker", "--processes", str(n_workers)]
            children.append(Child("workers", pool, env))
        if not _wait_for_api(host, port, api, stop):
            raise typer.Exit(1)
        metrics.serve(env.get("REDIS_URL", settings.redis_url))
        say(f"API docs at http://{_display_host(host)}:{port}/docs ({n_workers} workers)")
        _supervise(api, children[1:], redis, stop)
    except EmbeddedRedisError as exc:
        say(str(exc), error=True)
        raise typer.Exit(1) from None
    finally:
        _stop_all(children)
        if redis is not None:
            redis.stop()
        metrics.close()
        logs.close()
        if lock is not None:
            lock.release()
    if not stop.is_set():  # the API exited by itself
        raise typer.Exit(1)


class Child:
    """A supervised child process in its own session (a terminal's Ctrl-C goes to the supervisor only)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.delay = 0.5
        self.start()

    def start(self) -> None:
        self.started = time.monotonic()
        self.exited_at: float | None = None
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)

    def restart_if_exited(self) -> None:
        """Start it again once it exited and its restart delay passed; the delay starts at 1 s and
        doubles (up to ``MAX_RESTART_DELAY_SECONDS``) while it keeps exiting within ``STABLE_SECONDS``."""
        if self.process.poll() is None:
            return
        now = time.monotonic()
        if self.exited_at is None:
            kill_group(self.process)  # what it started may outlive it (the pool's workers)
            self.exited_at = now
            stable = now - self.started > STABLE_SECONDS
            self.delay = 1.0 if stable else min(self.delay * 2, MAX_RESTART_DELAY_SECONDS)
            say(
                f"{self.name} exited ({self.process.returncode}); restarting it in {self.delay:g} s",
                error=True,
            )
        if now >= self.exited_at + self.delay:
            self.start()


class EmbeddedRedis:
    """The embedded redis-server in the locked data folder, restarted on the same port if it exits; its
    PID is noted in the lock."""

    def __init__(self, lock: DataDirLock, maxmemory_bytes: int) -> None:
        self.lock, self.data_dir, self.maxmemory_bytes = lock, lock.data_dir, maxmemory_bytes
        self.process, self.url = start_redis(self.data_dir, maxmemory_bytes=maxmemory_bytes)
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        lock.note_redis(self.process.pid)

    def restart_if_exited(self) -> None:
        if self.process.poll() is not None:
            code = self.process.returncode
            say(f"the embedded Redis exited ({code}); restarting it", error=True)
            self.process, _ = start_redis(self.data_dir, port=self.port, maxmemory_bytes=self.maxmemory_bytes)
            self.lock.note_redis(self.process.pid)

    def stop(self) -> None:
        stop_process(self.process, STOP_TIMEOUT_SECONDS)


def api_command(
    host: str, port: int, processes: int, access_log: bool, options: list[str], app: str = API_APP
) -> list[str]:
    """The API's uvicorn command line (``bench/api.py`` serves its own ``app`` factory the same way)."""
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory", *options,
        "--host", host, "--port", str(port), "--workers", str(processes), "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
    return command if access_log else [*command, "--no-access-log"]


def _stop_on_signals() -> threading.Event:
    """An Event set by SIGINT, SIGTERM or SIGHUP (the supervisor then stops everything in order)."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)
    return stop


def _wait_for_api(host: str, port: int, api: Child, stop: threading.Event) -> bool:
    """True once GET /healthz answers 200; False if the API exits, a stop comes or the deadline passes."""
    url = f"http://{_display_host(host)}:{port}/healthz"
    deadline = time.monotonic() + API_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stop.is_set() and api.process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.05)
    if not stop.is_set():
        say(f"the API did not come up on {url}", error=True)
    return False


def _supervise(api: Child, workers: list[Child], redis: EmbeddedRedis | None, stop: threading.Event) -> None:
    """Until a stop signal or the API's exit: restart the embedded Redis and the workers if they exit."""
    while not stop.wait(POLL_SECONDS):
        if api.process.poll() is not None:
            say(f"the API exited ({api.process.returncode})", error=True)
            return
        if redis is not None:
            redis.restart_if_exited()
        for child in workers:
            child.restart_if_exited()


def _stop_all(children: list[Child]) -> None:
    """SIGTERM every child at once, wait for all up to STOP_TIMEOUT_SECONDS, then SIGKILL what is left of
    each child's process group (its own session: uvicorn's workers, the pool's workers)."""
    running = [child.process for child in children if child.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
    for child in children:
        kill_group(child.process)


def _display_host(host: str) -> str:
    """A host a browser can open: the wildcard addresses become 127.0.0.1."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
