"""`descent serve` as a subprocess for the benchmarks: a free port, an embedded Redis in a temporary dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from descent.embedded_redis import free_port


class ServeProcess:
    """`descent serve --port P --data-dir TMP *flags` with no REDIS_URL and no API keys, plus ``env``."""

    def __init__(self, *flags: str, env: dict[str, str] | None = None) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="descent-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {
            k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DESCENT_REDIS_URL", "API_KEYS")
        }
        command = [
            sys.executable, "-m", "descent", "serve", "--port", str(self.port), "--no-access-log",
            "--data-dir", self.folder.name, *flags,
        ]  # fmt: skip
        self.log = open(Path(self.folder.name, "serve.log"), "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, env={**clean, **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once /readyz is 200 (Redis up and the workers registered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"descent serve exited ({self.process.returncode}); see {self.log.name}")
            try:
                if self.client.get("/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"descent serve was not ready within {timeout} s")

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) spent so far by `descent serve` and every process under it: the API,
        the workers and the embedded Redis (a process that exited is no longer counted)."""
        root = psutil.Process(self.process.pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        """Ctrl-C, as a user stops it; SIGKILL after 30 s."""
        self.client.close()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.folder.cleanup()
