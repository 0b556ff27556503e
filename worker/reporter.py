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
from trainer import CostPoint, Training
from worker.watch import Watch

FLUSH_SECONDS = 0.1
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
    """Streams one run to the store.

    ``on_point`` only buffers; ``on_epoch`` flushes the buffer and the progress in one pipelined round
    trip when ``FLUSH_SECONDS`` have passed (so at most ~10 flushes a second whatever the step rate),
    saves a checkpoint every ``checkpoint_seconds`` with the training seconds behind it (``spent``
    before this run, plus this run's), and once the worker's ``shutdown`` is set saves one last
    checkpoint and stops the run so the job can be handed back. ``watch`` is the run's :class:`Watch`,
    whose ``stop`` ends the run.
    """

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        training: Training,
        watch: Watch,
        shutdown: threading.Event,
        checkpoint_seconds: float,
        spent: float = 0.0,
    ) -> None:
        self.store, self.job_id, self.training, self.watch = store, job_id, training, watch
        self.shutdown = shutdown
        self.pending: list[tuple[int, float]] = []
        self.epoch = training.epoch
        self.counted_steps = training.step  # steps already added to the metrics' count
        self.handing_back = False
        self.checkpoint_seconds = checkpoint_seconds
        now = time.monotonic()
        self.started, self.spent = now, spent
        self.next_flush = now + FLUSH_SECONDS
        self.next_checkpoint = now + checkpoint_seconds
        self.flush_failing = self.checkpoint_failing = False

    def on_point(self, point: CostPoint) -> None:
        """Buffer a cost point (written by the next flush)."""
        self.pending.append((point.epoch, point.cost))

    def on_epoch(self, epoch: int) -> None:
        """After each epoch: flush when due, checkpoint when due, stop on a shutdown."""
        self.epoch = epoch
        now = time.monotonic()
        if now >= self.next_flush:
            self.flush()
        if self.shutdown.is_set() and not self.handing_back:
            self.handing_back = True
            self.flush()
            self._checkpoint()
            self.watch.stop.set()
        elif now >= self.next_checkpoint:
            self.flush()
            self._checkpoint()

    def flush(self, *, final: bool = False) -> None:
        """Write the buffered points, the progress and the steps done since the last flush in one round trip
        (a final flush must succeed)."""
        points, self.pending = self.pending, []
        self.next_flush = time.monotonic() + FLUSH_SECONDS
        step = self.training.step
        append = partial(self.store.append_costs, self.job_id, points, self.epoch, step - self.counted_steps)
        try:
            if final:
                write_until_done(append)
            else:
                append()
            self.counted_steps = step
            self.flush_failing = False
        except redis.RedisError as exc:
            self.pending = points + self.pending
            if final:
                raise
            if not self.flush_failing:
                log.warning("job %s: flush failed (%s); the points wait for the next one", self.job_id, exc)
            self.flush_failing = True

    def _checkpoint(self) -> None:
        """Save the trainer's state after the last epoch (a failure keeps the previous checkpoint)."""
        now = time.monotonic()
        self.next_checkpoint = now + self.checkpoint_seconds
        try:
            data = self.training.checkpoint().to_bytes()
            self.store.save_run_state(self.job_id, data, self.spent + now - self.started)
            self.checkpoint_failing = False
        except redis.RedisError as exc:
            if not self.checkpoint_failing:
                log.warning("job %s: checkpoint failed (%s); the previous one stays", self.job_id, exc)
            self.checkpoint_failing = True
