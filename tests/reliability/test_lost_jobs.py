"""Lost workers on the suite's real Redis, without waiting for a worker to die.

As rq's ``tests/test_retry.py`` does, a lost worker is an execution already expired in RQ's started
registry: the job is running as some run, its RQ job started, the execution's score in the past. A sweep
(``worker.runner.LostJobSweep``: RQ's ``StartedJobRegistry.cleanup``) then calls ``core.queue.on_failure``
and retries the RQ job, or fails it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from rq import Queue
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from core.config import Settings
from core.queue import JobQueue
from core.spec import TrainingSpec
from core.store import PUBLIC_OWNER, JobStore
from tests.e2e.helpers import wait_for
from tests.jobs import field, status, trained_model
from worker import tasks
from worker.runner import LostJobSweep, RedisSettled

WINDOW = 2.0


@pytest.fixture
def two_attempts(store: JobStore, queue: Queue, settings: Settings) -> JobQueue:
    """Jobs submitted with two attempts (one retry) and a window of WINDOW seconds."""
    return JobQueue(
        store, queue, settings.model_copy(update={"heartbeat_seconds": WINDOW, "max_attempts": 2})
    )


def sweep(queue: Queue) -> None:
    LostJobSweep(queue, RedisSettled(queue.connection, WINDOW), threading.Event()).sweep()


def started_job(jobs: JobQueue, run_id: str = "run-1", epochs: int = 50) -> tuple[str, Job]:
    """A job a worker took: running as ``run_id``, its RQ job started with an execution in the registry."""
    job_id = jobs.submit(TrainingSpec.model_validate({"epochs": epochs}), PUBLIC_OWNER).id
    return job_id, take(jobs, job_id, run_id)


def take(jobs: JobQueue, job_id: str, run_id: str) -> Job:
    """What a worker does with a queued job: dequeue its RQ job and start a run."""
    rq_job = dequeue(jobs, job_id)
    assert jobs.store.start_run(job_id, run_id, rq_job=rq_job.id)
    return rq_job


def dequeue(jobs: JobQueue, job_id: str) -> Job:
    """What RQ does as a worker takes a job: off the queue, STARTED, an execution in the registry."""
    rq_job = Job.fetch(job_id, connection=jobs.queue.connection, serializer=jobs.queue.serializer)
    jobs.queue.remove(rq_job)
    with jobs.store.redis.pipeline() as pipe:
        Execution.create(rq_job, 60, pipeline=pipe, worker_name="a-worker")
        rq_job.set_status(JobStatus.STARTED, pipeline=pipe)
        pipe.execute()
    return rq_job


def expire(queue: Queue, job: Job, last_seen: float | None = None) -> None:
    """Make the job's execution expire in the past (its worker stopped beating), last seen at
    ``last_seen`` (unix seconds)."""
    registry = StartedJobRegistry(queue=queue)
    entries = registry.connection.zrange(registry.key, 0, -1)
    mine = {entry: time.time() - 10 for entry in entries if entry.decode().startswith(f"{job.id}:")}
    assert mine, "the job has an execution"
    registry.connection.zadd(registry.key, mine)
    if last_seen is not None:
        job.heartbeat(datetime.fromtimestamp(last_seen, UTC), 60)


def test_a_fresh_execution_is_left_alone(two_attempts: JobQueue) -> None:
    job_id, _ = started_job(two_attempts)
    sweep(two_attempts.queue)
    assert status(two_attempts.store, job_id) == "running"
    assert two_attempts.queue.count == 0


def test_a_lost_job_is_queued_again_and_the_lost_run_loses_it(two_attempts: JobQueue) -> None:
    store, queue = two_attempts.store, two_attempts.queue
    job_id, rq_job = started_job(two_attempts)
    expire(queue, rq_job)

    sweep(queue)

    assert status(store, job_id) == "queued"
    assert field(store, job_id, "workers_lost") == "1"
    assert store.runs_of([job_id])[0] == (None, False), "the lost run, if it still lives, must stop"
    assert queue.job_ids == [job_id], "RQ retried the same RQ job"
    rq_job.refresh()
    assert rq_job.get_status() == JobStatus.QUEUED and rq_job.retries_left == 0
    assert StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) == []
    sweep(queue)
    assert queue.job_ids == [job_id] and field(store, job_id, "workers_lost") == "1", "taken once"


def test_the_last_attempt_fails_the_job_saying_the_worker_was_lost(two_attempts: JobQueue) -> None:
    store, queue = two_attempts.store, two_attempts.queue
    job_id, rq_job = started_job(two_attempts)
    expire(queue, rq_job)
    sweep(queue)
    rq_job = take(two_attempts, job_id, "run-2")
    expire(queue, rq_job, last_seen=1_700_000_000)

    sweep(queue)

    record = store.get_job(job_id)
    assert record is not None and record.status == "failed" and record.finished_at is not None
    assert record.error == "worker lost 2 times; last seen at 2023-11-14T22:13:20+00:00"
    rq_job.refresh()
    assert rq_job.get_status() == JobStatus.FAILED and queue.count == 0


def test_of_many_sweeps_at_once_exactly_one_takes_each_lost_job(two_attempts: JobQueue) -> None:
    queue = two_attempts.queue
    lost = [started_job(two_attempts, run_id=f"run-{i}") for i in range(5)]
    for _, rq_job in lost:
        expire(queue, rq_job)
    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait(5)
        deadline = time.monotonic() + 5
        while StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) and time.monotonic() < deadline:
            sweep(queue)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(queue.job_ids) == sorted(job_id for job_id, _ in lost)
    assert {field(two_attempts.store, job_id, "workers_lost") for job_id, _ in lost} == {"1"}


def test_a_lost_execution_of_a_job_that_is_not_running_changes_nothing(two_attempts: JobQueue) -> None:
    store, queue = two_attempts.store, two_attempts.queue
    job_id, rq_job = started_job(two_attempts)
    assert store.mark_canceled(job_id)
    expire(queue, rq_job)
    sweep(queue)
    record = store.get_job(job_id)
    assert record is not None and record.status == "canceled" and record.workers_lost is None


def test_redis_has_settled_only_after_a_window(store: JobStore) -> None:
    uptime = int(store.redis.info("server")["uptime_in_seconds"])
    settled = RedisSettled(store.redis, window=0.2)
    assert not settled(), "this process connected only now"
    time.sleep(0.25)
    assert settled() is (uptime >= 0.2)
    assert not RedisSettled(store.redis, window=uptime + 3600)()


def test_a_run_whose_job_was_taken_stops_without_writing_its_end(two_attempts: JobQueue) -> None:
    store, queue = two_attempts.store, two_attempts.queue
    job_id = two_attempts.submit(
        TrainingSpec.model_validate({"epochs": 100_000, "record_every": 100}), "public"
    ).id
    rq_job = dequeue(two_attempts, job_id)
    ended: list[str] = []
    settings = two_attempts.settings
    run = threading.Thread(
        target=lambda: ended.append(tasks.execute(two_attempts, job_id, settings, threading.Event()))
    )
    run.start()
    try:
        wait_for(lambda: len(store.costs_since(job_id)) >= 3, 30, "the run to record 3 points")
        expire(queue, rq_job)  # as if the worker had been cut off from Redis for a while
        sweep(queue)
    finally:
        run.join(10)
    assert ended == ["superseded"]
    record = store.get_job(job_id)
    assert record is not None and record.status == "queued"
    assert record.error is None and record.finished_at is None and trained_model(store, job_id) is None
    assert queue.job_ids == [job_id]


def test_a_submission_whose_enqueue_fails_stores_nothing(
    two_attempts: JobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the API died between the record and the enqueue")

    monkeypatch.setattr(two_attempts.queue, "enqueue", broken)
    with pytest.raises(RuntimeError):
        two_attempts.submit(TrainingSpec(), PUBLIC_OWNER)
    store = two_attempts.store
    assert store.redis.zcard(store.keys.owner_jobs(PUBLIC_OWNER)) == 0
    assert two_attempts.queue.count == 0
