"""Time limits: derived from a job's size, clamped by the settings, enforced across a resume."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

from core.config import Settings
from core.queue import JobQueue
from core.spec import TrainingSpec
from core.store import JobStore
from descent.embedded_redis import stop_process
from tests.e2e.helpers import start_worker, wait_for
from tests.jobs import WORKER_ENV, enqueue, status
from trainer import OptimizerConfig, TrainConfig, Training, estimate, load_builtin
from worker import tasks
from worker.timeouts import FACTOR, job_time_limit


def test_the_limit_grows_with_the_job_and_stays_within_the_settings() -> None:
    settings = Settings(_env_file=None, min_job_seconds=30, max_job_seconds=3600)
    seed = TrainConfig()  # 50000 steps, 30 parameters, 300 examples, 10000 epochs
    expected = FACTOR * estimate(seed, 2, 300).seconds
    assert 50_000 * 1e-4 < estimate(seed, 2, 300).seconds < 60
    assert job_time_limit(seed, 2, 300, settings) == math.ceil(expected)
    assert job_time_limit(TrainConfig(epochs=10), 2, 300, settings) == 30
    assert job_time_limit(TrainConfig(epochs=10_000_000), 2, 300, settings) == 3600
    tiny_cap = Settings(_env_file=None, min_job_seconds=30, max_job_seconds=1)
    assert job_time_limit(TrainConfig(epochs=10), 2, 300, tiny_cap) == 1


def test_a_job_past_its_limit_fails_as_timed_out_and_keeps_its_costs(
    store: JobStore, jobs: JobQueue, settings: Settings
) -> None:
    limited = settings.model_copy(update={"max_job_seconds": 0.5})
    job_id = store.create_job(TrainingSpec.model_validate({"epochs": 150_000, "record_every": 100})).id
    started = time.monotonic()
    assert tasks.execute(jobs, job_id, limited, threading.Event()) == "failed"
    assert 0.5 <= time.monotonic() - started < 5
    record = store.get_job(job_id)
    assert record is not None and record.status == "failed"
    assert record.error == "timed out after 0.5 s"
    epochs = [epoch for epoch, _ in store.costs_since(job_id)]
    assert len(epochs) >= 2 and epochs == list(range(1, epochs[-1] + 1, 100))
    assert record.epoch >= epochs[-1]
    assert store.redis.hget(store.keys.job(job_id), "timeout_seconds") == b"0.5"


def test_the_time_spent_before_a_resume_counts(store: JobStore, jobs: JobQueue, settings: Settings) -> None:
    limited = settings.model_copy(update={"max_job_seconds": 5.0})
    job_id = store.create_job(TrainingSpec.model_validate({"epochs": 50_000, "record_every": 100})).id
    config = TrainConfig(optimizer=OptimizerConfig(name="adam"), epochs=50_000, record_every=100)
    partial = Training(*load_builtin("moons"), config)
    saved: list[bytes] = []

    def on_epoch(epoch: int) -> None:
        if epoch == 200:
            saved.append(partial.checkpoint().to_bytes())

    partial.run(on_epoch=on_epoch, should_stop=lambda: bool(saved))
    store.save_run_state(job_id, saved[0], run_seconds=4.8)

    started = time.monotonic()
    assert tasks.execute(jobs, job_id, limited, threading.Event()) == "failed"
    assert time.monotonic() - started < 2, "0.2 s were left of the 5 s"
    record = store.get_job(job_id)
    assert record is not None and record.error == "timed out after 5 s"
    assert 200 <= record.epoch < 50_000


def test_a_worker_process_fails_a_job_past_a_tiny_cap(
    fault_store: JobStore, fault_settings: Settings, tmp_path: Path
) -> None:
    store, settings = fault_store, fault_settings
    assert settings.redis_url is not None
    env = {**WORKER_ENV, "DESCENT_MAX_JOB_SECONDS": "1"}
    worker = start_worker(settings.redis_url, settings.queue_name, tmp_path / "worker.log", env=env)
    try:
        job_id = enqueue(store, settings, optimizer={"name": "adam"}, epochs=150_000, record_every=100)
        wait_for(lambda: status(store, job_id) == "failed", 30, "the job to time out")
    finally:
        stop_process(worker)
    record = store.get_job(job_id)
    assert record is not None and record.error == "timed out after 1 s"
    assert record.started_at is not None and record.finished_at is not None
    assert 1 <= record.finished_at - record.started_at < 5
    epochs = [epoch for epoch, _ in store.costs_since(job_id)]
    assert len(epochs) >= 2 and epochs == list(range(1, epochs[-1] + 1, 100))
