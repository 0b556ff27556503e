"""The watcher of one run: a daemon thread that decides when the run must stop.

Every ``POLL_SECONDS`` it checks the job's deadline, its cancel flag, and that the run still owns the job
(``JobStore.run_of``): after a worker was taken for lost, RQ retried the job and another run owns it now.
Whatever the reason, it sets ``stop`` (the Event the trainer's ``should_stop`` reads) once and records
``reason``: ``"canceled"``, ``"timed out"`` or ``"superseded"``. A Redis outage only logs once: the run
trains on. The worker's liveness is RQ's business (``worker.runner`` beats for the whole worker).
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from core.store import JobStore

POLL_SECONDS = 0.1

log = logging.getLogger(__name__)


class Watch:
    """Watches run ``run_id`` of job ``job_id`` for the duration of a ``with`` block."""

    def __init__(self, store: JobStore, job_id: str, run_id: str) -> None:
        self.store, self.job_id, self.run_id = store, job_id, run_id
        self.stop = threading.Event()
        self.reason: str | None = None
        self.deadline: float | None = None  # time.monotonic() past which the run is timed out
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name=f"watch-{job_id}")

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _end(self, reason: str) -> None:
        self.reason = reason
        self.stop.set()

    def _watch(self) -> None:
        failing = False
        while not self._done.wait(POLL_SECONDS):
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return self._end("timed out")
            try:
                run, cancel = self.store.run_of(self.job_id)
                failing = False
            except redis.RedisError as exc:
                if not failing:  # once per outage, not ten times a second
                    log.warning("job %s: Redis unreachable (%s); training on", self.job_id, exc)
                failing = True
                continue
            if cancel:
                return self._end("canceled")
            if run != self.run_id:
                log.warning("job %s: another run owns the job now; stopping", self.job_id)
                return self._end("superseded")
        return None
