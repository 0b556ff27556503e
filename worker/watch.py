"""The watcher of one run: a daemon thread that decides when the run's members must stop.

A run trains one job, or the member jobs of a stack (``worker.stacks``). Every ``POLL_SECONDS`` the
watcher checks the deadline, each member's cancel flag, and that the run still owns each member
(``JobStore.runs_of``): after a worker was taken for lost, RQ retried the work and another run owns it now.
Each member that must stop gets its reason once, in ``reasons``: ``"canceled"``, ``"timed out"``,
``"superseded"``, or ``"shutdown"`` (``stop_all``, when the worker is stopping); ``stop`` is set once every
member has one. A Redis outage only logs once: the run trains on. The worker's liveness is RQ's business
(``worker.runner`` beats for the whole worker).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import redis

from core.store import JobStore

POLL_SECONDS = 0.1

log = logging.getLogger(__name__)


class Watch:
    """Watches run ``run_id`` of ``job_ids`` for the duration of a ``with`` block."""

    def __init__(self, store: JobStore, job_ids: Sequence[str], run_id: str) -> None:
        self.store, self.job_ids, self.run_id = store, list(job_ids), run_id
        self.reasons: dict[str, str] = {}
        self.stop = threading.Event()
        self.deadline: float | None = None  # time.monotonic() past which the run is timed out
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name=f"watch-{run_id[:8]}")

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def end(self, job_id: str, reason: str) -> None:
        """Stop member ``job_id`` for ``reason`` (the first reason a member gets is its reason)."""
        with self._lock:
            self.reasons.setdefault(job_id, reason)
            if len(self.reasons) == len(self.job_ids):
                self.stop.set()

    def stop_all(self, reason: str) -> None:
        """Stop every member that is still going, for ``reason``."""
        for job_id in self.job_ids:
            self.end(job_id, reason)

    def _watch(self) -> None:
        failing = False
        while not self._done.wait(POLL_SECONDS) and not self.stop.is_set():
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.stop_all("timed out")
                return
            going = [job_id for job_id in self.job_ids if job_id not in self.reasons]
            try:
                states = self.store.runs_of(going)
                failing = False
            except redis.RedisError as exc:
                if not failing:  # once per outage, not ten times a second
                    log.warning("run %s: Redis unreachable (%s); training on", self.run_id, exc)
                failing = True
                continue
            for job_id, (run, cancel) in zip(going, states, strict=True):
                if cancel:
                    self.end(job_id, "canceled")
                elif run != self.run_id:
                    log.warning("job %s: another run owns the job now; stopping", job_id)
                    self.end(job_id, "superseded")
