"""Streams one run to the store from the trainer's callbacks: cost points, progress and checkpoints."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import redis

from core.store import JobStore
from trainer import CostPoint
from worker.watch import Watch

FLUSH_SECONDS = 0.1
MEMBERS_PER_FLUSH_INTERVAL = 8
MAX_FLUSH_SECONDS = 1.0
FINAL_WRITE_SECONDS = 30.0

log = logging.getLogger(__name__)
T = TypeVar("T")


def write_until_done(write: Callable[[], T], timeout: float = FINAL_WRITE_SECONDS) -> T:
    """``write()``, retried on Redis errors for up to ``timeout`` seconds (a restart of Redis)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return write()
        except redis.RedisError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


class RunReporter:
    """Streams one run (one job, or the members of a stack) to the store.

    ``on_point`` only buffers; ``on_epoch`` flushes every member's points and progress, and the training
    steps done since the last flush (``count_steps()``, every member's, for ``P:stats``), in one pipelined
    round trip when the flush interval has passed: ``FLUSH_SECONDS`` for up to
    ``MEMBERS_PER_FLUSH_INTERVAL`` members and as much again for each further such group, at most
    ``MAX_FLUSH_SECONDS`` (a job flushes ten times a second whatever its step rate; a stack of 64
    members, whose flush writes 64 jobs, every 0.8 s). It saves a checkpoint every ``checkpoint_seconds``
    through ``save_state(training seconds)`` (the seconds ``spent`` before this run, plus this run's), and
    once the worker's ``shutdown`` is set saves one last checkpoint and stops every member
    (``watch.stop_all("shutdown")``) so the work can be handed back. A member that ended (:meth:`end`)
    keeps the progress it ended with.
    """

    def __init__(
        self,
        store: JobStore,
        watch: Watch,
        shutdown: threading.Event,
        save_state: Callable[[float], None],
        checkpoint_seconds: float,
        *,
        count_steps: Callable[[], int],
        epoch: int = 0,
        spent: float = 0.0,
    ) -> None:
        self.store, self.watch, self.shutdown, self.save_state = store, watch, shutdown, save_state
        self.count_steps = count_steps
        self.counted_steps = count_steps()  # steps already added to the metrics' count
        self.pending: dict[str, list[tuple[int, float]]] = {job_id: [] for job_id in watch.job_ids}
        self.epoch = epoch
        self.ended: dict[str, int] = {}  # member -> the epochs it ended with
        self.handing_back = False
        self.checkpoint_seconds = checkpoint_seconds
        now = time.monotonic()
        self.started, self.spent = now, spent
        groups = -(-len(watch.job_ids) // MEMBERS_PER_FLUSH_INTERVAL)
        self.flush_seconds = min(MAX_FLUSH_SECONDS, FLUSH_SECONDS * groups)
        self.next_flush = now + self.flush_seconds
        self.next_checkpoint = now + checkpoint_seconds
        self.flush_failing = self.checkpoint_failing = False

    def on_point(self, job_id: str, point: CostPoint) -> None:
        """Buffer a cost point of ``job_id`` (written by the next flush)."""
        self.pending[job_id].append((point.epoch, point.cost))

    def end(self, job_id: str, epochs_completed: int) -> None:
        """Member ``job_id`` ended after ``epochs_completed`` epochs: its progress stays there."""
        self.ended[job_id] = epochs_completed

    def on_epoch(self, epoch: int) -> None:
        """After each epoch: flush when due, checkpoint when due, stop every member on a shutdown."""
        self.epoch = epoch
        now = time.monotonic()
        if now >= self.next_flush:
            self.flush()
        if self.shutdown.is_set() and not self.handing_back:
            self.handing_back = True
            self.flush()
            self._checkpoint()
            self.watch.stop_all("shutdown")
        elif now >= self.next_checkpoint:
            self.flush()
            self._checkpoint()

    def flush(self, *, final: bool = False, only: str | None = None) -> None:
        """Write the buffered points and the progress in one round trip, of every member or ``only`` one
        (a member that ends writes its own); a final flush must succeed."""
        members = list(self.pending) if only is None else [only]
        pending = {job_id: self.pending[job_id] for job_id in members if self.pending[job_id]}
        for job_id in members:
            self.pending[job_id] = []
        if only is None:
            self.next_flush = time.monotonic() + self.flush_seconds
        runs = {job_id: (pending.get(job_id, []), self.ended.get(job_id, self.epoch)) for job_id in members}
        steps = self.count_steps()
        append = partial(self.store.append_progress, runs, steps - self.counted_steps)
        try:
            if final:
                write_until_done(append)
            else:
                append()
            self.counted_steps = steps
            self.flush_failing = False
        except redis.RedisError as exc:
            for job_id, points in pending.items():
                self.pending[job_id] = points + self.pending[job_id]
            if final:
                raise
            if not self.flush_failing:
                log.warning(
                    "run %s: flush failed (%s); the points wait for the next one", self.watch.run_id, exc
                )
            self.flush_failing = True

    def _checkpoint(self) -> None:
        """Save the trainer's state after the last epoch (a failure keeps the previous checkpoint)."""
        now = time.monotonic()
        self.next_checkpoint = now + self.checkpoint_seconds
        try:
            self.save_state(self.spent + now - self.started)
            self.checkpoint_failing = False
        except redis.RedisError as exc:
            if not self.checkpoint_failing:
                log.warning("run %s: checkpoint failed (%s); the previous one stays", self.watch.run_id, exc)
            self.checkpoint_failing = True
