"""The RQ job function: run one stored job on the trainer and stream what it does to Redis.

``run_job(job_id)`` is enqueued by the API as ``"worker.tasks.run_job"`` (JSON arguments). It talks to
Redis only through :class:`service.store.JobStore`:

1. ``mark_running`` (queued → running); a job canceled while queued is skipped.
2. Load the spec and its data (built-in, uploaded or inline) and check it; a data or config error ends
   the job ``failed`` with the error's message.
3. Resume from the job's stored checkpoint if there is one (a worker was lost or stopped mid-job): cost
   points after the checkpoint's epoch are dropped, so the resumed run appends one continuous history.
4. Train. :class:`RunReporter` buffers cost points and flushes them with the progress in one pipeline
   at most every ``FLUSH_SECONDS``, and checkpoints every ``CHECKPOINT_SECONDS``; a watcher thread polls
   the cancel flag every ``CANCEL_POLL_SECONDS`` and refreshes ``updated_at`` (the job's heartbeat)
   every ``HEARTBEAT_SECONDS``.
5. End in exactly one way: ``succeeded`` (result and parameters stored), ``canceled`` (costs so far
   kept), ``failed`` ("diverged at epoch N", a data error's message), or, when the worker is asked to
   shut down, back to ``queued`` from a fresh checkpoint, so another worker resumes it.

A Redis error while training is not fatal: the points stay buffered and are written by a later flush.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from functools import lru_cache, partial
from typing import TypeVar

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from service.config import get_settings
from service.store import QUEUED, RUNNING, JobStore, connect
from trainer import Checkpoint, CostPoint, Training, TrainResult
from trainer.errors import CheckpointError, ConfigError, DataError, DivergedError
from worker.runner import SHUTDOWN

FLUSH_SECONDS = 0.1
CANCEL_POLL_SECONDS = 0.1
HEARTBEAT_SECONDS = 1.0
CHECKPOINT_SECONDS = 5.0
FINAL_WRITE_SECONDS = 30.0

log = logging.getLogger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=1)
def _process_store_and_queue() -> tuple[JobStore, Queue]:
    """This process's store and queue: one Redis connection pool, reused by every job it runs."""
    settings = get_settings()
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set")
    client = connect(settings.redis_url)
    queue = Queue(settings.queue_name, connection=client, serializer=JSONSerializer)
    return JobStore(client, settings), queue


def run_job(job_id: str) -> str:
    """The RQ job: run the stored job ``job_id`` with the environment's settings (see :func:`execute`)."""
    return execute(*_process_store_and_queue(), job_id)


def execute(store: JobStore, queue: Queue, job_id: str) -> str:
    """Run the stored job ``job_id`` to its end; return how it ended (RQ keeps that as the job's result).

    ``queue`` is where a job interrupted by a worker shutdown is handed back.
    """
    if not store.mark_running(job_id):
        return "skipped: not queued (canceled before it started, or unknown)"
    try:
        training = _prepare(store, job_id)
    except (DataError, ConfigError) as exc:
        _write_until_done(partial(store.fail, job_id, str(exc)))
        return "failed"
    except redis.RedisError:
        raise  # left running: the job is resumed once Redis (or another worker) is back
    except Exception as exc:
        _write_until_done(partial(store.fail, job_id, f"the worker could not start the job: {exc}"))
        raise
    return _train(store, queue, job_id, training)


def _prepare(store: JobStore, job_id: str) -> Training:
    """The job's Training on its checked data, resumed from its checkpoint if one fits."""
    spec = store.get_spec(job_id)
    X, Y = store.training_data(spec)
    config = spec.to_train_config()
    data = store.load_checkpoint(job_id)
    if data is not None:
        try:
            training = Training(X, Y, config, resume=Checkpoint.from_bytes(data))
        except CheckpointError as exc:
            log.warning("job %s: checkpoint ignored (%s); starting over", job_id, exc)
        else:
            store.drop_costs_after(job_id, training.epoch)
            return training
    store.drop_costs_after(job_id, 0)
    return Training(X, Y, config)


def _train(store: JobStore, queue: Queue, job_id: str, training: Training) -> str:
    """Run the training with a reporter; store how it ended."""
    reporter = RunReporter(store, job_id, training)
    with reporter.watching():
        try:
            result = training.run(
                on_point=reporter.on_point, on_epoch=reporter.on_epoch, should_stop=reporter.stop.is_set
            )
        except DivergedError as exc:
            reporter.flush(final=True)
            _write_until_done(partial(store.fail, job_id, str(exc)))
            return "failed"
        except Exception as exc:  # a bug or MemoryError: say so rather than leave the job running
            reporter.flush(final=True)
            _write_until_done(partial(store.fail, job_id, f"the worker failed: {type(exc).__name__}: {exc}"))
            raise
    reporter.flush(final=True)
    if result.stopped and reporter.canceled:
        _write_until_done(partial(store.mark_canceled, job_id))
        return "canceled"
    if result.stopped:  # the worker is shutting down
        _write_until_done(partial(requeue, store, queue, job_id))
        return "queued"
    _write_until_done(lambda: store.succeed(job_id, _result(store, job_id, result), result.parameters))
    return "succeeded"


def _result(store: JobStore, job_id: str, result: TrainResult) -> dict[str, float | int | None]:
    """The stored result; a run resumed at its last epoch takes its final cost from the history."""
    final_cost = result.final_cost
    if final_cost is None:
        points = store.costs_since(job_id, max(result.epochs_completed - 1, 0))
        final_cost = points[-1][1] if points else None
    return {
        "accuracy": result.accuracy,
        "validation_accuracy": result.validation_accuracy,
        "final_cost": final_cost,
        "seconds": result.seconds,
        "epochs_completed": result.epochs_completed,
        "steps": result.steps,
    }


def requeue(store: JobStore, queue: Queue, job_id: str) -> bool:
    """Hand a running job back: running → queued, and a new RQ job at the front of ``queue``, which
    resumes it from its last checkpoint. False (nothing done) if the job is not running any more.

    Used when a worker shuts down mid-job; also what recovering a lost worker's job needs.
    """
    if not store.transition(job_id, QUEUED, [RUNNING]):
        return False
    queue.enqueue(
        run_job,
        job_id,
        job_id=f"{job_id}-{uuid.uuid4().hex[:8]}",
        at_front=True,
        result_ttl=store.ttl,
        failure_ttl=store.ttl,
        job_timeout=-1,
        description=f"descent job {job_id} (resumed)",
    )
    return True


def _write_until_done(write: Callable[[], T], timeout: float = FINAL_WRITE_SECONDS) -> T:
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
    """Streams one run to the store from the trainer's callbacks, and watches for a cancel.

    ``on_point`` only buffers; ``on_epoch`` flushes the buffer and the progress in one pipelined round
    trip when ``FLUSH_SECONDS`` have passed (so at most ~10 flushes a second whatever the step rate),
    saves a checkpoint every ``CHECKPOINT_SECONDS``, and on a worker shutdown saves one last checkpoint
    and stops the run so the job is handed back. ``stop`` is the Event the run's ``should_stop`` reads:
    the watcher thread sets it (and ``canceled``) when the job's cancel flag appears.
    """

    def __init__(self, store: JobStore, job_id: str, training: Training) -> None:
        self.store, self.job_id, self.training = store, job_id, training
        self.pending: list[tuple[int, float]] = []
        self.epoch = training.epoch
        self.stop = threading.Event()
        self.canceled = False
        self.shutting_down = False
        now = time.monotonic()
        self.next_flush = now + FLUSH_SECONDS
        self.next_checkpoint = now + CHECKPOINT_SECONDS
        self.flush_failing = False

    def on_point(self, point: CostPoint) -> None:
        """Buffer a cost point (written by the next flush)."""
        self.pending.append((point.epoch, point.cost))

    def on_epoch(self, epoch: int) -> None:
        """After each epoch: flush when due, checkpoint when due, hand back on a shutdown."""
        self.epoch = epoch
        now = time.monotonic()
        if now >= self.next_flush:
            self.flush()
        if SHUTDOWN.is_set() and not self.shutting_down:
            self.shutting_down = True
            self.flush()
            self._checkpoint()
            self.stop.set()
        elif now >= self.next_checkpoint:
            self.flush()
            self._checkpoint()

    def flush(self, *, final: bool = False) -> None:
        """Write the buffered points and the progress in one round trip (a final flush must succeed)."""
        points, self.pending = self.pending, []
        self.next_flush = time.monotonic() + FLUSH_SECONDS
        try:
            if final:
                _write_until_done(lambda: self.store.append_costs(self.job_id, points, epoch=self.epoch))
            else:
                self.store.append_costs(self.job_id, points, epoch=self.epoch)
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
        self.next_checkpoint = time.monotonic() + CHECKPOINT_SECONDS
        try:
            self.store.save_checkpoint(self.job_id, self.training.checkpoint().to_bytes())
        except redis.RedisError as exc:
            log.warning("job %s: checkpoint failed (%s)", self.job_id, exc)

    def watching(self) -> _Watcher:
        """A context that runs the cancel/heartbeat watcher thread while the run lasts."""
        return _Watcher(self)

    def watch(self, done: threading.Event) -> None:
        """Poll the cancel flag until ``done``; refresh the heartbeat (``updated_at``) as it goes."""
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        failing = False
        while not done.wait(CANCEL_POLL_SECONDS):
            try:
                if self.store.cancel_requested(self.job_id):
                    self.canceled = True
                    self.stop.set()
                    return
                if time.monotonic() >= next_beat:
                    self.store.set_progress(self.job_id, self.epoch)
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
                failing = False
            except redis.RedisError as exc:
                if not failing:  # once per outage, not ten times a second
                    log.warning("job %s: Redis unreachable (%s); training on", self.job_id, exc)
                failing = True


class _Watcher:
    """Runs ``RunReporter.watch`` in a daemon thread for the duration of a ``with`` block."""

    def __init__(self, reporter: RunReporter) -> None:
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=reporter.watch, args=(self.done,), daemon=True, name=f"watch-{reporter.job_id}"
        )

    def __enter__(self) -> _Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        self.thread.join(timeout=5)
