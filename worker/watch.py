"""The watcher of one run: a daemon thread that decides when the run must stop, and keeps it alive.

Every ``CANCEL_POLL_SECONDS`` it checks the job's deadline and cancel flag; every ``HEARTBEAT_SECONDS``
it beats (``JobStore.heartbeat``: ``updated_at`` and the job's score in ``P:running``), which is how the
reapers know the worker lives. A beat refused because the job has another run (a reaper took it from a
worker it thought lost) stops this run too. Whatever the reason, it sets ``stop`` (the Event the trainer's
``should_stop`` reads) once and records ``reason``: ``"canceled"``, ``"timed out"`` or ``"superseded"``.
A Redis outage only logs once: the run trains on and beats again when Redis is back.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from service.store import JobStore

CANCEL_POLL_SECONDS = 0.1
HEARTBEAT_SECONDS = 1.0

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
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        failing = False
        while not self._done.wait(CANCEL_POLL_SECONDS):
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return self._end("timed out")
            try:
                if self.store.cancel_requested(self.job_id):
                    return self._end("canceled")
                if time.monotonic() >= next_beat:
                    if not self.store.heartbeat(self.job_id, self.run_id):
                        log.warning("job %s: the run is not the job's any more; stopping", self.job_id)
                        return self._end("superseded")
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
                failing = False
            except redis.RedisError as exc:
                if not failing:  # once per outage, not ten times a second
                    log.warning("job %s: Redis unreachable (%s); training on", self.job_id, exc)
                failing = True
        return None
