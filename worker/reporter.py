"""Streams one run to the store from the trainer's callbacks: cost points, progress, boundary frames and
checkpoints, all written by a thread of the reporter's own, so that a slow or frozen Redis never holds up
training."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import redis

from core.store import JobStore
from trainer import CostPoint
from worker.frames import Frames
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
    """Streams one run (one job, or the members of a stack) to the store, from a writer thread.

    The training thread only hands things over: ``on_point`` buffers a point, ``on_epoch`` notes the epoch,
    at a frame epoch of ``frames`` buffers each member's frame (a member that ended gets no more) and,
    every ``checkpoint_seconds``, takes a ``snapshot()`` of the trainer's state (its bytes), and
    :meth:`after_points` queues a write (a stack member's end). The writer thread writes, every flush
    interval (``FLUSH_SECONDS`` for up to ``MEMBERS_PER_FLUSH_INTERVAL`` members and as much again for each
    further such group, at most ``MAX_FLUSH_SECONDS``), in this order and only once the one before it
    succeeded: every member's buffered points and progress with the training steps done since the last
    write (``count_steps()``, for ``P:stats``) in one pipelined round trip; then the buffered frames, every
    member's in one round trip (``JobStore.save_frames``); then the newest unwritten
    checkpoint, through ``save_state(snapshot, training seconds)`` (the seconds ``spent`` before this run,
    plus this run's up to the snapshot); then the queued writes. So a checkpoint is stored only after the
    points up to its epoch, and a member's end only after its last points.

    While Redis is frozen or down, each write waits for the client's timeout and fails, and the writer
    tries again at the next interval: the points stay buffered (in memory: one pair per recorded epoch)
    and only the newest checkpoint is kept, while the training thread trains on. :meth:`close` (after
    training) waits until everything is written, ``FINAL_WRITE_SECONDS`` at most, and raises the last
    Redis error if that was not enough.

    Use it as a context manager: leaving the block stops the writer (after :meth:`close`, or without
    writing more when the run ended otherwise). Once the worker's ``shutdown`` is set, ``on_epoch`` takes
    one last snapshot and stops every member (``watch.stop_all("shutdown")``); the caller closes the
    reporter (which writes it) and hands the work back. A member that ended (:meth:`end`) keeps the
    progress it ended with.
    """

    def __init__(
        self,
        store: JobStore,
        watch: Watch,
        shutdown: threading.Event,
        snapshot: Callable[[], bytes],
        save_state: Callable[[bytes, float], None],
        checkpoint_seconds: float,
        *,
        count_steps: Callable[[], int],
        epoch: int = 0,
        spent: float = 0.0,
        frames: Frames | None = None,
    ) -> None:
        self.store, self.watch, self.shutdown = store, watch, shutdown
        self.snapshot, self.save_state, self.count_steps = snapshot, save_state, count_steps
        self.counted_steps = count_steps()  # steps already added to the metrics' count
        self.pending: dict[str, list[tuple[int, float]]] = {job_id: [] for job_id in watch.job_ids}
        self.epoch = epoch
        self.frames = frames
        self.pending_frames: dict[str, dict[int, bytes]] = {}  # member -> epoch -> frame, not yet written
        self.ended: dict[str, int] = {}  # member -> the epochs it ended with
        self.handing_back = False
        self.checkpoint_seconds = checkpoint_seconds
        now = time.monotonic()
        self.started, self.spent = now, spent
        groups = -(-len(watch.job_ids) // MEMBERS_PER_FLUSH_INTERVAL)
        self.flush_seconds = min(MAX_FLUSH_SECONDS, FLUSH_SECONDS * groups)
        self.next_checkpoint = now + checkpoint_seconds
        self._lock = threading.Lock()
        self._checkpoint: tuple[bytes, float] | None = None  # the newest snapshot not yet written
        self._queued: list[Callable[[], object]] = []
        self._written: tuple[int, dict[str, int]] | None = None  # the progress last written
        self._closing, self._discard = threading.Event(), threading.Event()
        self._error: redis.RedisError | None = None
        self._failing = False
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"report-{watch.run_id[:8]}")
        self._thread.start()

    def __enter__(self) -> RunReporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Leaving the block stops the writer; what :meth:`close` did not write is dropped (a run that
        lost its job, or failed, writes nothing more)."""
        self._discard.set()
        self._closing.set()

    def on_point(self, job_id: str, point: CostPoint) -> None:
        """Buffer a cost point of ``job_id`` (written by the next flush)."""
        with self._lock:
            self.pending[job_id].append((point.epoch, point.cost))

    def end(self, job_id: str, epochs_completed: int) -> None:
        """Member ``job_id`` ended after ``epochs_completed`` epochs: its progress stays there."""
        with self._lock:
            self.ended[job_id] = epochs_completed

    def after_points(self, write: Callable[[], object]) -> None:
        """Have the writer call ``write()`` once the points buffered so far are written."""
        with self._lock:
            self._queued.append(write)

    def on_epoch(self, epoch: int) -> None:
        """After each epoch: note it; take the running members' frames at a frame epoch; snapshot the state
        when a checkpoint is due; on a shutdown, snapshot and stop every member."""
        self.epoch = epoch
        if self.frames is not None and epoch in self.frames.epochs:
            self._take_frames(epoch)
        if self.shutdown.is_set() and not self.handing_back:
            self.handing_back = True
            self._take_snapshot()
            self.watch.stop_all("shutdown")
        elif time.monotonic() >= self.next_checkpoint:
            self._take_snapshot()

    def close(self, timeout: float = FINAL_WRITE_SECONDS) -> None:
        """After training: wait until the writer wrote everything (``timeout`` seconds at most); raise the
        Redis error that kept it from doing so."""
        self._closing.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise redis.TimeoutError(
                f"run {self.watch.run_id}: Redis took over {timeout:g} s to take its writes"
            )
        if self._error is not None:
            raise self._error

    def _take_frames(self, epoch: int) -> None:
        with self._lock:
            running = [job_id for job_id in self.watch.job_ids if job_id not in self.ended]
        taken = self.frames.take(epoch, running)
        with self._lock:
            for job_id, data in taken.items():
                self.pending_frames.setdefault(job_id, {})[epoch] = data

    def _take_snapshot(self) -> None:
        now = time.monotonic()
        self.next_checkpoint = now + self.checkpoint_seconds
        checkpoint = (self.snapshot(), self.spent + now - self.started)
        with self._lock:
            self._checkpoint = checkpoint  # an older one not yet written is dropped

    def _run(self) -> None:
        deadline: float | None = None
        while True:
            closing = self._closing.wait(self.flush_seconds)
            if self._discard.is_set():
                return
            if closing and deadline is None:
                deadline = time.monotonic() + FINAL_WRITE_SECONDS
            try:
                self._write()
            except redis.RedisError as exc:
                if not self._failing:
                    log.warning(
                        "run %s: write failed (%s); the points wait for the next one", self.watch.run_id, exc
                    )
                self._failing = True
                if deadline is not None and time.monotonic() >= deadline:
                    self._error = exc
                    return
                continue
            if self._failing:
                log.info("run %s: writes go through again", self.watch.run_id)
            self._failing = False
            if closing:
                return

    def _write(self) -> None:
        """One flush: the points and progress, then the frames, then the newest checkpoint, then the queued
        writes; what fails stays for the next flush."""
        epoch = self.epoch
        with self._lock:
            points, self.pending = self.pending, {job_id: [] for job_id in self.pending}
            frames, self.pending_frames = self.pending_frames, {}
            checkpoint, self._checkpoint = self._checkpoint, None
            queued, self._queued = self._queued, []
            ended = dict(self.ended)
        steps = self.count_steps()
        try:
            if any(points.values()) or (epoch, ended) != self._written or steps != self.counted_steps:
                runs = {job_id: (points[job_id], ended.get(job_id, epoch)) for job_id in points}
                self.store.append_progress(runs, steps - self.counted_steps)
                self._written, self.counted_steps = (epoch, ended), steps
                points = {}
            if frames:
                self.store.save_frames(frames)
                frames = {}
            if checkpoint is not None:
                self.save_state(*checkpoint)
                checkpoint = None
            while queued:
                queued[0]()
                queued.pop(0)
        except redis.RedisError:
            with self._lock:
                for job_id, older in points.items():
                    self.pending[job_id] = older + self.pending[job_id]
                for job_id, older_frames in frames.items():
                    self.pending_frames[job_id] = older_frames | self.pending_frames.get(job_id, {})
                if self._checkpoint is None:
                    self._checkpoint = checkpoint
                self._queued = queued + self._queued
            raise
