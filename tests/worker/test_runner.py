"""`descent worker` processes on a Redis of the test's own: SIGTERM hands a job back; Redis comes back."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np

from core.config import Settings
from core.store import JobStore
from descent.embedded_redis import stop_process
from tests.e2e.helpers import start_worker, wait_for
from tests.jobs import enqueue, status, trained_model
from tests.servers import RedisServer
from trainer import OptimizerConfig, TrainConfig, load_builtin, train


def test_sigterm_hands_the_running_job_back_and_another_worker_resumes_it(
    fault_store: JobStore, fault_settings: Settings, tmp_path: Path
) -> None:
    store, settings = fault_store, fault_settings
    assert settings.redis_url is not None
    first = start_worker(settings.redis_url, settings.queue_name, tmp_path / "first.log")
    job_id = enqueue(store, settings, optimizer={"name": "adam"}, epochs=12_000, record_every=100)
    try:
        wait_for(lambda: len(store.costs_since(job_id)) >= 10, 30, "the job to record 10 points")
        first.send_signal(signal.SIGTERM)
        assert first.wait(10) == 0
    finally:
        stop_process(first)
    record = store.get_job(job_id)
    log = (tmp_path / "first.log").read_text()
    assert record is not None and record.status == "queued", log
    assert 900 <= record.epoch < 12_000 and store.load_checkpoint(job_id) is not None
    # the worker's log says what happened: no "Successfully completed … Job OK" for a hand-back
    assert f"job {job_id}: handed back at epoch {record.epoch} (the worker is stopping)" in log
    assert "Successfully completed" not in log and "Job OK" not in log

    second = start_worker(settings.redis_url, settings.queue_name, tmp_path / "second.log")
    try:
        wait_for(lambda: status(store, job_id) == "succeeded", 60, "the resumed job to succeed")
    finally:
        stop_process(second)
    config = TrainConfig(optimizer=OptimizerConfig(name="adam"), epochs=12_000)
    expected = train(*load_builtin("moons"), config)
    assert store.costs_since(job_id) == [(p.epoch, p.cost) for p in expected.costs]
    model = trained_model(store, job_id)
    assert model is not None
    for name, array in expected.parameters.items():
        assert np.array_equal(model[name], array), name


def test_a_worker_works_again_once_redis_is_back(
    aof_redis: RedisServer, fault_store: JobStore, fault_settings: Settings, tmp_path: Path
) -> None:
    own_redis, store, settings = aof_redis, fault_store, fault_settings
    assert settings.redis_url is not None
    log = tmp_path / "worker.log"
    worker = start_worker(settings.redis_url, settings.queue_name, log)
    try:
        first = enqueue(store, settings, optimizer={"name": "gd"}, epochs=50)
        wait_for(lambda: status(store, first) == "succeeded", 30, "a first job")
        own_redis.kill()
        wait_for(lambda: b"Connection refused" in log.read_bytes(), 15, "the worker to find Redis gone")
        own_redis.start()
        second = enqueue(store, settings, optimizer={"name": "gd"}, epochs=50)
        wait_for(lambda: status(store, second) == "succeeded", 15, "a job after the restart")
        assert worker.poll() is None

        own_redis.kill()  # a SIGTERM while the worker waits for Redis still stops it at once
        refused = log.read_bytes().count(b"Connection refused")
        wait_for(lambda: log.read_bytes().count(b"Connection refused") > refused, 15, "Redis gone again")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(5) == 0
    finally:
        stop_process(worker)
