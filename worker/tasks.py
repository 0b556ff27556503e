"""The RQ job function: run one stored job on the trainer and stream what it does to Redis.

``run_job(job_id)`` is what ``core.queue`` enqueues (JSON arguments). It talks to Redis only through
:class:`core.store.JobStore` and :class:`core.queue.JobQueue`:

1. ``start_run`` (queued → running, as a fresh run id); a job canceled while queued is skipped. From
   here a :class:`worker.watch.Watch` thread polls the cancel flag, the run's ownership and the deadline.
2. Load the spec and its data (built-in, uploaded or inline) and check it; a data or config error ends
   the job ``failed`` with the error's message. The job's time limit comes from its size
   (:mod:`worker.timeouts`).
3. Resume from the job's stored checkpoint if there is one (a worker was lost or stopped mid-job): cost
   points after the checkpoint's epoch are dropped, so the resumed run appends one continuous history,
   and the training seconds up to the checkpoint count against the limit.
4. Train, streaming through a :class:`worker.reporter.RunReporter` (with the job's boundary frames,
   :mod:`worker.frames`).
5. End in exactly one way: ``succeeded`` (result and parameters stored), ``canceled`` (costs so far
   kept), ``failed`` ("diverged at epoch N", "timed out after N s", a data error's message), handed back
   (``queued`` from a fresh checkpoint) when the worker shuts down, or nothing at all when another run owns
   the job now ("superseded"). Every end is written only while this run owns the job. :func:`report_end`
   logs which (a hand-back is no success, though RQ takes the job function's return for one) and counts
   it in ``P:stats``.

A Redis error while training is not fatal, nor is a frozen Redis: the reporter's own thread writes, the
points stay buffered until a write goes through, and training goes on meanwhile. A Redis error that
escapes (the job could not even start, or its last writes failed for ``FINAL_WRITE_SECONDS``) leaves the
job running: RQ's abandoned-job handling then retries it (``core.queue``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from functools import lru_cache, partial

import redis
from rq import get_current_job

from core.config import Settings, get_settings
from core.data import training_data
from core.logs import bound_job
from core.queue import JobQueue, rq_queue
from core.store import JobStore, connect
from trainer import Checkpoint, MemberResult, Training, TrainResult
from trainer.errors import CheckpointError, ConfigError, DataError, DivergedError
from worker.context import worker_shutdown
from worker.frames import Frames
from worker.reporter import RunReporter, write_until_done
from worker.timeouts import job_time_limit
from worker.watch import Watch

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def process_jobs() -> JobQueue:
    """This process's job queue: one Redis connection pool, reused by every job it runs."""
    settings = get_settings()
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set")
    client = connect(settings.redis_url)
    return JobQueue(JobStore(client, settings), rq_queue(client, settings), settings)


def run_job(job_id: str) -> str:
    """The RQ job: run the stored job ``job_id`` (see :func:`execute`) with this process's settings and
    the shutdown signal of the worker running it; log how the run ended and count it (``P:stats``).
    Every log line meanwhile carries ``job_id``."""
    jobs = process_jobs()
    with bound_job(job_id):
        ended = execute(jobs, job_id, jobs.settings, worker_shutdown())
        report_end(jobs.store, job_id, ended)
    return ended


def report_end(store: JobStore, job_id: str, ended: str) -> None:
    """One log line saying how the run ended (with the job's result, error or epoch), and one more run of
    that outcome in the metrics' counters; a Redis outage costs only the details."""
    report_ends(store, [job_id], ended)


def report_ends(store: JobStore, job_ids: Sequence[str], ended: str) -> None:
    """:func:`report_end` for several jobs that ended the same way (a stack's members), in two round
    trips."""
    outcome = ended.partition(":")[0]
    try:
        store.count_run(outcome, runs=len(job_ids))
        records = store.get_jobs(job_ids)
    except redis.RedisError as exc:
        for job_id in job_ids:
            log.warning("job %s: %s (Redis unreachable, not counted: %s)", job_id, ended, exc)
        return
    for job_id, record in zip(job_ids, records, strict=True):
        epoch = record.epoch if record else 0
        if outcome == "succeeded" and record and record.result:
            result = record.result
            log.info(
                "job %s: succeeded: accuracy %.4f after %d epochs in %.2f s",
                job_id, result["accuracy"], result["epochs_completed"], result["seconds"],
            )  # fmt: skip
        elif outcome == "failed":
            log.warning("job %s: failed: %s", job_id, record.error if record else "unknown")
        elif outcome == "canceled":
            log.info("job %s: canceled at epoch %d", job_id, epoch)
        elif outcome == "handed back":
            log.info(
                "job %s: handed back at epoch %d (the worker is stopping); it resumes later", job_id, epoch
            )
        else:
            log.info("job %s: %s", job_id, ended)


def execute(jobs: JobQueue, job_id: str, settings: Settings, shutdown: threading.Event) -> str:
    """Run the stored job ``job_id`` to its end; return how it ended (RQ keeps that as the job's result).

    ``settings`` give the checkpoint interval and the bounds of the time limit; once ``shutdown`` is set
    the run checkpoints and the job is handed back to ``jobs``' queue.
    """
    store = jobs.store
    run_id = uuid.uuid4().hex
    rq_job = get_current_job()
    if not store.start_run(job_id, run_id, rq_job=job_id if rq_job is None else rq_job.id):
        return "skipped: not queued (canceled before it started, or unknown)"
    log.info("job %s: running (run %s)", job_id, run_id)
    with Watch(store, [job_id], run_id) as watch:
        end = partial(finish, job_id, run_id)
        try:
            training, limit, spent = _prepare(store, job_id, settings)
        except (DataError, ConfigError) as exc:
            end(store.fail, str(exc))
            return "failed"
        except redis.RedisError:
            raise  # left running: RQ's abandoned-job handling retries it
        except Exception as exc:
            log.exception("job %s: the worker could not start it", job_id)
            end(store.fail, f"the worker could not start the job: {exc}")
            return "failed"
        watch.deadline = time.monotonic() + limit - spent

        def save_state(checkpoint: bytes, seconds: float) -> None:
            store.save_run_state(job_id, checkpoint, seconds)

        with RunReporter(
            store,
            watch,
            shutdown,
            lambda: training.checkpoint().to_bytes(),
            save_state,
            settings.checkpoint_seconds,
            count_steps=lambda: training.step,
            epoch=training.epoch,
            spent=spent,
            frames=Frames.plan(
                training.sizes, training.config.epochs, settings, lambda _: training.parameter_vector()
            ),
        ) as reporter:
            return _train(jobs, job_id, run_id, training, reporter, limit)


def _prepare(store: JobStore, job_id: str, settings: Settings) -> tuple[Training, float, float]:
    """The job's Training on its checked data, resumed from its checkpoint if one fits; its time limit;
    and the training seconds already spent on it (up to the checkpoint)."""
    spec = store.get_spec(job_id)
    X, Y = training_data(store, spec)
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


def _train(
    jobs: JobQueue, job_id: str, run_id: str, training: Training, reporter: RunReporter, limit: float
) -> str:
    """Run the training with ``reporter``; store how it ended."""
    store = jobs.store
    end = partial(finish, job_id, run_id)
    try:
        result = training.run(
            on_point=partial(reporter.on_point, job_id),
            on_epoch=reporter.on_epoch,
            should_stop=reporter.watch.stop.is_set,
        )
    except DivergedError as exc:
        reporter.close()
        end(store.fail, str(exc))
        return "failed"
    except Exception as exc:  # a bug or MemoryError: say so rather than leave the job running
        log.exception("job %s: training failed", job_id)
        reporter.close()
        end(store.fail, f"the worker failed: {type(exc).__name__}: {exc}")
        return "failed"
    reason = reporter.watch.reasons.get(job_id) if result.stopped else None
    if reason == "superseded":  # another run owns the job now: write nothing more
        return "superseded"
    reporter.close()
    if reason == "canceled":
        end(store.mark_canceled)
        return "canceled"
    if reason == "timed out":
        end(store.fail, f"timed out after {limit:g} s")
        return "failed"
    if reason == "shutdown":
        write_until_done(partial(jobs.hand_back, job_id, run_id))
        log.info("job %s: handed back at epoch %d (the worker is stopping)", job_id, result.epochs_completed)
        return "handed back"
    end(store.succeed, result_of(store, job_id, result), result.parameters)
    return "succeeded"


def finish(job_id: str, run_id: str, write: Callable[..., bool], *args: object) -> None:
    """The job's last status change, written only while ``run_id`` owns the job (retried through a
    Redis restart)."""
    write_until_done(lambda: write(job_id, *args, run=run_id))


def result_of(
    store: JobStore, job_id: str, result: TrainResult | MemberResult
) -> dict[str, float | int | None]:
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
