"""A worker SIGKILLed mid-job (its whole process group: a machine lost): another worker's sweep of RQ's
started registry notices, RQ retries the job, and it resumes and ends as an uninterrupted run would, or
fails once its attempts are used up. Real worker processes, real Redis."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from core.config import Settings
from core.store import JobStore
from descent.embedded_redis import stop_process
from tests.e2e.helpers import start_worker, wait_for
from tests.jobs import WORKER_ENV, enqueue, field, status, trained_model
from trainer import Checkpoint, OptimizerConfig, TrainConfig, load_builtin, train

WINDOW = float(WORKER_ENV["DESCENT_HEARTBEAT_SECONDS"])


def kill_after_first_checkpoint(
    store: JobStore, settings: Settings, job_id: str, log: Path, env: dict[str, str]
) -> int:
    """Run a worker until the job has a checkpoint, SIGKILL it; the checkpoint's epoch."""
    assert settings.redis_url is not None
    worker = start_worker(settings.redis_url, settings.queue_name, log, env=env)
    try:
        data = wait_for(lambda: store.load_checkpoint(job_id), 30, "the job's first checkpoint")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(5)
    finally:
        stop_process(worker)
    assert status(store, job_id) == "running"
    return Checkpoint.from_bytes(data).epoch


def test_a_killed_workers_job_resumes_on_another_worker_bitwise_equal(
    fault_store: JobStore, fault_settings: Settings, tmp_path: Path
) -> None:
    store, settings = fault_store, fault_settings
    assert settings.redis_url is not None
    job_id = enqueue(store, settings, optimizer={"name": "adam"}, epochs=20_000, record_every=100)
    first_rq_job = job_id
    epoch = kill_after_first_checkpoint(store, settings, job_id, tmp_path / "first.log", WORKER_ENV)
    assert 0 < epoch < 20_000
    killed = time.monotonic()

    second = start_worker(settings.redis_url, settings.queue_name, tmp_path / "second.log", env=WORKER_ENV)
    try:
        wait_for(lambda: field(store, job_id, "workers_lost") == "1", 15, "a sweep to find the lost job")
        noticed = time.monotonic() - killed
        wait_for(lambda: status(store, job_id) == "succeeded", 60, "the resumed job to succeed")
    finally:
        stop_process(second)
    # the second worker's sweep waits a window after its start; the execution expires a window after its
    # last beat
    assert noticed < 2 * WINDOW + 6, noticed
    log = (tmp_path / "second.log").read_text()
    assert "resuming from its checkpoint at epoch" in log, log

    config = TrainConfig(optimizer=OptimizerConfig(name="adam"), epochs=20_000, record_every=100)
    expected = train(*load_builtin("moons"), config)
    assert store.costs_since(job_id) == [(p.epoch, p.cost) for p in expected.costs]
    model = trained_model(store, job_id)
    assert model is not None and sorted(model) == sorted(expected.parameters)
    for name, array in expected.parameters.items():
        assert np.array_equal(model[name], array), name
    record = store.get_job(job_id)
    assert record is not None and record.result is not None
    assert record.result["accuracy"] == expected.accuracy and record.epoch == 20_000

    retried = Job.fetch(first_rq_job, connection=store.redis, serializer=JSONSerializer)
    assert retried.get_status() == JobStatus.FINISHED
    assert retried.retries_left == settings.max_attempts - 2, "RQ retried it once"
    started = StartedJobRegistry(settings.queue_name, connection=store.redis, serializer=JSONSerializer)
    assert started.get_job_ids(cleanup=False) == []


def test_a_job_whose_worker_is_lost_max_attempts_times_fails_saying_so(
    fault_store: JobStore, fault_settings: Settings, tmp_path: Path
) -> None:
    store, settings = fault_store, fault_settings
    assert settings.redis_url is not None
    one_attempt = settings.model_copy(update={"max_attempts": 1})  # the API's setting, read as it enqueues
    job_id = enqueue(store, one_attempt, optimizer={"name": "adam"}, epochs=100_000, record_every=100)
    kill_after_first_checkpoint(store, settings, job_id, tmp_path / "first.log", WORKER_ENV)
    points = store.costs_since(job_id)

    second = start_worker(settings.redis_url, settings.queue_name, tmp_path / "second.log", env=WORKER_ENV)
    try:
        wait_for(lambda: status(store, job_id) == "failed", 20, "the job to fail")
        record = store.get_job(job_id)
        assert record is not None and record.error is not None
        assert record.error.startswith("worker lost 1 time; last seen at 20"), record.error
        assert store.costs_since(job_id) == points, "the history so far is kept"
        rq_job = Job.fetch(job_id, connection=store.redis, serializer=JSONSerializer)
        rq_failed = lambda: rq_job.get_status(refresh=True) == JobStatus.FAILED  # noqa: E731
        wait_for(rq_failed, 5, "RQ to record its job failed too (after the callback, in the same sweep)")
        time.sleep(0.5)
        assert status(store, job_id) == "failed" and second.poll() is None
    finally:
        stop_process(second)
