"""The reaper on the suite's real Redis, without waiting for a worker to die.

As rq's ``tests/test_retry.py`` does for its started registry, a lost worker is an entry already expired:
the job is running as some run, its RQ job is started, and its score in ``P:running`` is in the past.
"""

from __future__ import annotations

import threading
import time

import pytest
from rq import Queue
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from service.config import Settings
from service.spec import TrainingSpec
from service.store import JobStore
from tests.e2e.helpers import wait_for
from tests.jobs import field
from worker import tasks
from worker.reaper import Reaper

WINDOW = 2.0


@pytest.fixture
def reaper_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"heartbeat_seconds": WINDOW, "max_attempts": 2})


@pytest.fixture
def queue(store: JobStore, settings: Settings) -> Queue:
    return Queue(settings.queue_name, connection=store.redis, serializer=JSONSerializer)


def started_job(store: JobStore, queue: Queue, run_id: str = "run-1") -> tuple[str, Job]:
    """A job a worker took: running as ``run_id``, its RQ job started with an execution in the registry."""
    job_id = store.create_job(TrainingSpec.model_validate({"epochs": 50})).id
    rq_job = queue.enqueue("worker.tasks.run_job", job_id, job_id=job_id, job_timeout=-1)
    queue.remove(rq_job)
    with store.redis.pipeline() as pipe:
        Execution.create(rq_job, 60, pipeline=pipe, worker_name="gone")
        rq_job.set_status(JobStatus.STARTED, pipeline=pipe)
        pipe.execute()
    assert store.start_run(job_id, run_id, rq_job=rq_job.id)
    return job_id, rq_job


def expire(store: JobStore, job_id: str, at: float | None = None) -> None:
    """Make the job's last heartbeat happen at ``at`` (unix seconds; 10 s ago by default)."""
    store.redis.zadd(f"{store.prefix}:running", {job_id: time.time() - 10 if at is None else at})


def test_a_fresh_heartbeat_is_left_alone(store: JobStore, queue: Queue, reaper_settings: Settings) -> None:
    job_id, _ = started_job(store, queue)
    assert store.heartbeat(job_id, "run-1")
    assert Reaper(store, queue, reaper_settings).reap() == {}
    record = store.get_job(job_id)
    assert record is not None and record.status == "running"


def test_a_lost_job_is_requeued_and_rq_forgets_the_lost_run(
    store: JobStore, queue: Queue, reaper_settings: Settings
) -> None:
    job_id, rq_job = started_job(store, queue)
    expire(store, job_id)

    assert Reaper(store, queue, reaper_settings).reap() == {job_id: "queued"}

    record = store.get_job(job_id)
    assert record is not None and record.status == "queued"
    assert field(store, job_id, "workers_lost") == "1"
    assert not store.heartbeat(job_id, "run-1"), "the lost run, if it still lives, must stop"
    assert [(j.func_name, list(j.args)) for j in queue.jobs] == [("worker.tasks.run_job", [job_id])]
    assert queue.jobs[0].id != job_id
    rq_job.refresh()
    assert rq_job.get_status() == JobStatus.FAILED
    started = StartedJobRegistry(queue.name, connection=store.redis, serializer=JSONSerializer)
    assert started.get_job_ids(cleanup=False) == []
    assert rq_job.id in FailedJobRegistry(queue.name, connection=store.redis, serializer=JSONSerializer)
    assert Reaper(store, queue, reaper_settings).reap() == {}, "reaped once, not at every pass"


def test_the_last_attempt_fails_the_job_saying_the_worker_was_lost(
    store: JobStore, queue: Queue, reaper_settings: Settings
) -> None:
    job_id, _ = started_job(store, queue)
    reaper = Reaper(store, queue, reaper_settings)
    expire(store, job_id)
    assert reaper.reap() == {job_id: "queued"}
    assert store.start_run(job_id, "run-2")
    expire(store, job_id, at=1_700_000_000.25)

    assert reaper.reap() == {job_id: "failed"}

    record = store.get_job(job_id)
    assert record is not None and record.status == "failed" and record.finished_at is not None
    assert record.error == "worker lost 2 times; last seen at 2023-11-14T22:13:20+00:00"
    assert store.stale_runs(0) == []


def test_of_many_reapers_at_once_exactly_one_takes_a_lost_job(
    store: JobStore, queue: Queue, reaper_settings: Settings
) -> None:
    job_ids = [started_job(store, queue, run_id=f"run-{i}")[0] for i in range(5)]
    for job_id in job_ids:
        expire(store, job_id)
    results: list[dict[str, str]] = []
    barrier = threading.Barrier(8)

    def reap() -> None:
        reaper = Reaper(store, queue, reaper_settings)
        barrier.wait(5)
        results.append(reaper.reap())

    threads = [threading.Thread(target=reap) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    taken = [job_id for result in results for job_id in result]
    assert sorted(taken) == sorted(job_ids)
    assert len(queue.jobs) == 5
    assert {field(store, job_id, "workers_lost") for job_id in job_ids} == {"1"}


def test_an_entry_whose_job_is_not_running_is_dropped(
    store: JobStore, queue: Queue, reaper_settings: Settings
) -> None:
    job_id, _ = started_job(store, queue)
    assert store.mark_canceled(job_id)
    expire(store, job_id)
    assert Reaper(store, queue, reaper_settings).reap() == {}
    assert store.stale_runs(0) == []
    record = store.get_job(job_id)
    assert record is not None and record.status == "canceled"


def test_a_reaper_waits_until_redis_has_been_up_for_a_window(
    store: JobStore, queue: Queue, reaper_settings: Settings
) -> None:
    uptime = int(store.redis.info("server")["uptime_in_seconds"])
    assert Reaper(store, queue, reaper_settings).ready() is (uptime >= WINDOW)
    long_window = reaper_settings.model_copy(update={"heartbeat_seconds": uptime + 3600})
    assert not Reaper(store, queue, long_window).ready()


def test_a_run_whose_job_was_taken_stops_without_writing_its_end(
    store: JobStore, queue: Queue, reaper_settings: Settings
) -> None:
    job_id = store.create_job(TrainingSpec.model_validate({"epochs": 100_000, "record_every": 100})).id
    ended: list[str] = []
    run = threading.Thread(target=lambda: ended.append(tasks.execute(store, queue, job_id, reaper_settings)))
    run.start()
    try:
        wait_for(lambda: len(store.costs_since(job_id)) >= 3, 30, "the run to record 3 points")
        expire(store, job_id)  # as if the worker had been cut off from Redis for a while
        assert Reaper(store, queue, reaper_settings).reap() == {job_id: "queued"}
    finally:
        run.join(10)
    assert ended == ["superseded"]
    record = store.get_job(job_id)
    assert record is not None and record.status == "queued"
    assert record.error is None and record.finished_at is None and store.get_model(job_id) is None
    assert [(j.func_name, list(j.args)) for j in queue.jobs] == [("worker.tasks.run_job", [job_id])]


def test_a_queued_job_whose_enqueue_was_lost_is_enqueued_again_once(
    store: JobStore, queue: Queue, reaper_settings: Settings
) -> None:
    orphan = store.create_job(TrainingSpec.model_validate({"epochs": 50})).id  # the API died: never enqueued
    waiting = store.create_job(TrainingSpec.model_validate({"epochs": 50})).id
    queue.enqueue("worker.tasks.run_job", waiting, job_id=waiting, job_timeout=-1)
    fresh = store.create_job(TrainingSpec.model_validate({"epochs": 50})).id  # its enqueue may be under way
    long_ago = time.time() - 10 * WINDOW
    for job_id in (orphan, waiting):
        store.redis.hset(store.job_key(job_id), "updated_at", repr(long_ago))
        store.redis.zadd(f"{store.prefix}:owner:public:jobs:queued", {job_id: long_ago})
    reapers = [Reaper(store, queue, reaper_settings) for _ in range(4)]

    assert [reaper.requeue_orphans() for reaper in reapers] == [[orphan], [], [], []]

    assert [(j.func_name, list(j.args)) for j in queue.jobs] == [
        ("worker.tasks.run_job", [orphan]),
        ("worker.tasks.run_job", [waiting]),
    ]
    assert field(store, orphan, "rq_job") == queue.jobs[0].id != orphan
    assert fresh not in [j.args[0] for j in queue.jobs]
    record = store.get_job(orphan)
    assert record is not None and record.status == "queued"
