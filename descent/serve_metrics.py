"""The metrics side of `descent serve`: the API processes' shared folder, and ``metrics_port``.

Every API process counts its requests in files under ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode), so that a scrape of any of them adds up all of them. `descent serve` hands its
children a fresh temporary folder (removed when it stops) unless the environment names one, which is
then emptied of old files first: the folder must not outlive the processes that wrote it.

With ``metrics_port`` set, ``/metrics`` leaves the API's port, and the supervisor itself serves it on
``metrics_host:metrics_port`` (prometheus-client's own HTTP server, in a thread): the same numbers, from
the same folder and Redis, on a port that only Prometheus need reach.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from threading import Thread
from wsgiref.simple_server import WSGIServer

from core.config import Settings
from core.store import connect

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class ServeMetrics:
    """The multiprocess folder of one `descent serve` run, and its metrics server if it has one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        given = os.environ.get(MULTIPROCESS_DIR)
        self.owned = not given
        self.folder = Path(given or tempfile.mkdtemp(prefix="descent-metrics-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob("*.db"):
            stale.unlink()
        self.server: tuple[WSGIServer, Thread] | None = None

    def env(self) -> dict[str, str]:
        """What the API's processes need in their environment (the workers do not write there: what
        they know goes to Redis)."""
        return {MULTIPROCESS_DIR: str(self.folder)}

    def serve(self, redis_url: str | None) -> None:
        """Serve ``/metrics`` on ``metrics_port`` if one is set (and metrics are on)."""
        settings = self.settings
        if not (settings.metrics_enabled and settings.metrics_port and redis_url):
            return
        from prometheus_client import start_http_server  # loads only when the supervisor serves metrics

        from service.metrics import scrape_registry

        registry = scrape_registry(connect(redis_url), settings, multiprocess_dir=str(self.folder))
        self.server = start_http_server(settings.metrics_port, settings.metrics_host, registry=registry)

    def close(self) -> None:
        """Stop the metrics server; remove the folder if this run made it."""
        if self.server is not None:
            server, thread = self.server
            server.shutdown()
            server.server_close()
            thread.join(5)
        if self.owned:
            shutil.rmtree(self.folder, ignore_errors=True)
