"""The RQ job function: run one stored job on the trainer and stream what it does to Redis.

``run_job(job_id)`` is enqueued by the API as ``"worker.tasks.run_job"`` (JSON arguments). It talks to
Redis only through :class:`service.store.JobStore`:

1. ``start_run`` (queued → running, as a fresh run id); a job canceled while queued is skipped. From
   here a :class:`worker.watch.Watch` thread beats for the run, polls the cancel flag and the deadline.
2. Load the spec and its data (built-in, uploaded or inline) and check it; a data or config error ends
   the job ``failed`` with the error's message. The job's time limit comes from its size
   (:mod:`worker.timeouts`).
3. Resume from the job's stored checkpoint if there is one (a worker was lost or stopped mid-job): cost
   points after the checkpoint's epoch are dropped, so the resumed run appends one continuous history,
   and the training seconds up to the checkpoint count against the limit.
4. Train. :class:`RunReporter` buffers cost points and flushes them with the progress in one pipeline
   at most every ``FLUSH_SECONDS``, and checkpoints every ``settings.checkpoint_seconds``.
5. End in exactly one way: ``succeeded`` (result and parameters stored), ``canceled`` (costs so far
   kept), ``failed`` ("diverged at epoch N", "timed out after N s", a data error's message), back to
   ``queued`` from a fresh checkpoint when the worker is asked to shut down (another worker resumes it),
   or nothing at all when a reaper gave the job to another run ("superseded").

A Redis error while training is not fatal: the points stay buffered and are written by a later flush.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from functools import lru_cache, partial
from typing import TypeVar

import redis
from rq import Queue, get_current_job
from rq.serializers import JSONSerializer

from service.config import Settings, get_settings
from service.store import QUEUED, RUNNING, JobStore, connect
from trainer import Checkpoint, CostPoint, Training, TrainResult
from trainer.errors import CheckpointError, ConfigError, DataError, DivergedError
from worker.runner import SHUTDOWN
from worker.timeouts import job_time_limit
from worker.watch import Watch

FLUSH_SECONDS = 0.1
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


def execute(store: JobStore, queue: Queue, job_id: str, settings: Settings | None = None) -> str:
    """Run the stored job ``job_id`` to its end; return how it ended (RQ keeps that as the job's result).

    ``queue`` is where a job interrupted by a worker shutdown is handed back; ``settings`` (the
    environment's by default) give the checkpoint interval and the bounds of the time limit.
    """
    settings = settings or get_settings()
    run_id = uuid.uuid4().hex
    rq_job = get_current_job()
    if not store.start_run(job_id, run_id, rq_job="" if rq_job is None else rq_job.id):
        return "skipped: not queued (canceled before it started, or unknown)"
    with Watch(store, job_id, run_id) as watch:
        try:
            training, limit, spent = _prepare(store, job_id, settings)
        except (DataError, ConfigError) as exc:
            _finish(store, job_id, partial(store.fail, job_id, str(exc)))
            return "failed"
        except redis.RedisError:
            raise  # left running: a reaper re-queues the job once its heartbeat is stale
        except Exception as exc:
            _finish(store, job_id, partial(store.fail, job_id, f"the worker could not start the job: {exc}"))
            raise
        watch.deadline = time.monotonic() + limit - spent
        reporter = RunReporter(store, job_id, training, watch, settings.checkpoint_seconds, spent)
        return _train(store, queue, job_id, reporter, limit)


def _prepare(store: JobStore, job_id: str, settings: Settings) -> tuple[Training, float, float]:
    """The job's Training on its checked data, resumed from its checkpoint if one fits; its time limit;
    and the training seconds already spent on it (up to the checkpoint)."""
    spec = store.get_spec(job_id)
    X, Y = store.training_data(spec)
    config = spec.to_train_config()
    limit = job_time_limit(config, X.shape[0], X.shape[1], settings)
    store.set_time_limit(job_id, limit)
    data = store.load_checkpoint(job_id)
    if data is not None:
        try:
            training = Training(X, Y, config, resume=Checkpoint.from_bytes(data))
        except CheckpointError as exc:
            log.warning("job %s: checkpoint ignored (%s); starting over", job_id, exc)
        else:
            log.warning("job %s: resuming from its checkpoint at epoch %d", job_id, training.epoch)
            store.drop_costs_after(job_id, training.epoch)
            return training, limit, store.run_seconds(job_id)
    store.drop_costs_after(job_id, 0)
    return Training(X, Y, config), limit, 0.0


def _train(store: JobStore, queue: Queue, job_id: str, reporter: RunReporter, limit: float) -> str:
    """Run the training with ``reporter``; store how it ended."""
    try:
        result = reporter.training.run(
            on_point=reporter.on_point, on_epoch=reporter.on_epoch, should_stop=reporter.watch.stop.is_set
        )
    except DivergedError as exc:
        reporter.flush(final=True)
        _finish(store, job_id, partial(store.fail, job_id, str(exc)))
        return "failed"
    except Exception as exc:  # a bug or MemoryError: say so rather than leave the job running
        reporter.flush(final=True)
        _finish(store, job_id, partial(store.fail, job_id, f"the worker failed: {type(exc).__name__}: {exc}"))
        raise
    reason = reporter.watch.reason if result.stopped else None
    if reason == "superseded":  # another run owns the job now: write nothing more
        return "superseded"
    reporter.flush(final=True)
    if reason == "canceled":
        _finish(store, job_id, partial(store.mark_canceled, job_id))
        return "canceled"
    if reason == "timed out":
        _finish(store, job_id, partial(store.fail, job_id, f"timed out after {limit:g} s"))
        return "failed"
    if result.stopped:  # the worker is shutting down
        _write_until_done(partial(requeue, store, queue, job_id))
        return "queued"
    _finish(store, job_id, lambda: store.succeed(job_id, _result(store, job_id, result), result.parameters))
    return "succeeded"


def _finish(store: JobStore, job_id: str, write: Callable[[], bool]) -> None:
    """The job's last status change (retried through a Redis restart), then out of ``P:running``."""
    _write_until_done(write)
    _write_until_done(partial(store.end_run, job_id))


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

    Used when a worker shuts down mid-job, and by the reapers for a lost worker's job.
    """
    rq_job = new_rq_job_id(job_id)
    if not store.transition(job_id, QUEUED, [RUNNING], rq_job=rq_job):
        return False
    enqueue_again(store, queue, job_id, rq_job)
    return True


def new_rq_job_id(job_id: str) -> str:
    """The id of a further RQ job for job ``job_id`` (the first one's id is the job's own)."""
    return f"{job_id}-{uuid.uuid4().hex[:8]}"


def enqueue_again(store: JobStore, queue: Queue, job_id: str, rq_job: str) -> None:
    """Enqueue job ``job_id`` again as RQ job ``rq_job``, at the front of ``queue`` (it waited already)."""
    queue.enqueue(
        run_job,
        job_id,
        job_id=rq_job,
        at_front=True,
        result_ttl=store.ttl,
        failure_ttl=store.ttl,
        job_timeout=-1,
        description=f"descent job {job_id} (resumed)",
    )


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
    """Streams one run to the store from the trainer's callbacks.

    ``on_point`` only buffers; ``on_epoch`` flushes the buffer and the progress in one pipelined round
    trip when ``FLUSH_SECONDS`` have passed (so at most ~10 flushes a second whatever the step rate),
    saves a checkpoint every ``checkpoint_seconds`` with the training seconds behind it (``spent``
    before this run, plus this run's), and on a worker shutdown saves one last checkpoint and stops the
    run so the job is handed back. ``watch`` is the run's :class:`Watch`, whose ``stop`` ends the run.
    """

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        training: Training,
        watch: Watch,
        checkpoint_seconds: float,
        spent: float = 0.0,
    ) -> None:
        self.store, self.job_id, self.training, self.watch = store, job_id, training, watch
        self.pending: list[tuple[int, float]] = []
        self.epoch = training.epoch
        self.shutting_down = False
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
        """After each epoch: flush when due, checkpoint when due, hand back on a shutdown."""
        self.epoch = epoch
        now = time.monotonic()
        if now >= self.next_flush:
            self.flush()
        if SHUTDOWN.is_set() and not self.shutting_down:
            self.shutting_down = True
            self.flush()
            self._checkpoint()
            self.watch.stop.set()
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
