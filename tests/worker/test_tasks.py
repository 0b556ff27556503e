"""The job function on the suite's real Redis, run in-process: streaming, cancel, resume, hand-back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rq import Queue

from core.config import Settings
from core.queue import JobQueue
from core.spec import TrainingSpec
from core.store import JobStore
from tests.jobs import trained_model
from trainer import OptimizerConfig, TrainConfig, Training, load_builtin, train
from worker import reporter, tasks


class FlushTimes(JobStore):
    """The real store, noting when each flush (``append_progress``) happens."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flushes: list[float] = []

    def append_progress(self, *args: Any, **kwargs: Any) -> None:
        self.flushes.append(time.monotonic())
        super().append_progress(*args, **kwargs)


def execute(jobs: JobQueue, job_id: str, shutdown: threading.Event | None = None) -> str:
    """Run a stored job in-process, as a worker does."""
    return tasks.execute(jobs, job_id, jobs.settings, shutdown or threading.Event())


def create(store: JobStore, **spec: Any) -> str:
    return store.create_job(TrainingSpec.model_validate(spec)).id


def when(predicate: Callable[[], bool], then: Callable[[], None], timeout: float = 30) -> threading.Thread:
    """A thread that calls ``then()`` once ``predicate()`` holds (giving up after ``timeout`` seconds)."""

    def run() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                then()
                return
            time.sleep(0.01)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def expected_run(name: str, epochs: int, record_every: int) -> Any:
    config = TrainConfig(optimizer=OptimizerConfig(name=name), epochs=epochs, record_every=record_every)
    return train(*load_builtin("moons"), config)


def assert_same_run(store: JobStore, job_id: str, expected: Any) -> None:
    assert store.costs_since(job_id, 0) == [(p.epoch, p.cost) for p in expected.costs]
    model = trained_model(store, job_id)
    assert model is not None and sorted(model) == sorted(expected.parameters)
    for name, array in expected.parameters.items():
        assert np.array_equal(model[name], array), name  # bitwise


def test_points_are_streamed_in_batches_at_most_ten_a_second(
    redis_client: Any, settings: Settings, queue: Queue
) -> None:
    store = FlushTimes(redis_client, settings)
    job_id = create(store, optimizer={"name": "adam"}, epochs=2500, record_every=1)
    started = time.monotonic()
    assert execute(JobQueue(store, queue, settings), job_id) == "succeeded"
    seconds = time.monotonic() - started
    gaps = np.diff(store.flushes[:-1])  # the final flush comes whenever the run ends
    assert len(store.flushes) >= 2, "points must be streamed while the job runs, not only at its end"
    assert len(store.flushes) <= seconds / reporter.FLUSH_SECONDS + 2
    assert gaps.min() >= reporter.FLUSH_SECONDS * 0.99
    assert_same_run(store, job_id, expected_run("adam", 2500, 1))
    record = store.get_job(job_id)
    assert record is not None and record.status == "succeeded" and record.epoch == 2500
    assert record.result is not None and record.result["steps"] == 2500 * 5


def test_a_cancel_stops_the_run_between_steps_and_keeps_its_costs(store: JobStore, jobs: JobQueue) -> None:
    job_id = create(store, optimizer={"name": "adam"}, epochs=100_000, record_every=100)
    when(lambda: len(store.costs_since(job_id)) >= 5, lambda: store.request_cancel(job_id))
    started = time.monotonic()
    assert execute(jobs, job_id) == "canceled"
    assert time.monotonic() - started < 10
    record = store.get_job(job_id)
    assert record is not None and record.status == "canceled" and record.finished_at is not None
    epochs = [epoch for epoch, _ in store.costs_since(job_id)]
    assert len(epochs) >= 5 and epochs == list(range(1, epochs[-1] + 1, 100))
    assert trained_model(store, job_id) is None


def test_a_job_resumes_from_its_checkpoint_with_a_bitwise_equal_result(
    store: JobStore, jobs: JobQueue
) -> None:
    job_id = create(store, optimizer={"name": "adam"}, epochs=600, record_every=10)
    config = TrainConfig(optimizer=OptimizerConfig(name="adam"), epochs=600, record_every=10)
    partial = Training(*load_builtin("moons"), config)
    saved: list[bytes] = []

    def on_epoch(epoch: int) -> None:
        if epoch == 250:
            saved.append(partial.checkpoint().to_bytes())

    early = partial.run(on_epoch=on_epoch, should_stop=lambda: bool(saved))
    store.save_run_state(job_id, saved[0], run_seconds=0.0)
    # What a lost worker left: its points up to the checkpoint, and one recorded after it.
    store.append_costs(job_id, [(p.epoch, p.cost) for p in early.costs] + [(261, 123.0)], epoch=265)

    assert execute(jobs, job_id) == "succeeded"
    assert_same_run(store, job_id, expected_run("adam", 600, 10))


def test_a_shutdown_hands_the_job_back_and_it_resumes(store: JobStore, jobs: JobQueue, queue: Queue) -> None:
    job_id = create(store, optimizer={"name": "momentum"}, epochs=6000, record_every=50)
    shutdown = threading.Event()
    when(lambda: len(store.costs_since(job_id)) >= 3, shutdown.set)
    assert execute(jobs, job_id, shutdown) == "handed back"
    record = store.get_job(job_id)
    assert record is not None and record.status == "queued"
    assert 100 < record.epoch < 6000 and store.load_checkpoint(job_id) is not None
    handed_back = queue.jobs
    assert [(j.func_name, list(j.args)) for j in handed_back] == [("worker.tasks.run_job", [job_id])]
    assert handed_back[0].id == store.redis.hget(store.keys.job(job_id), "rq_job").decode() != job_id

    assert execute(jobs, job_id) == "succeeded"
    assert_same_run(store, job_id, expected_run("momentum", 6000, 50))


def test_a_job_canceled_while_queued_is_skipped(store: JobStore, jobs: JobQueue) -> None:
    job_id = create(store, epochs=50)
    assert store.mark_canceled(job_id)
    assert execute(jobs, job_id).startswith("skipped")
    record = store.get_job(job_id)
    assert record is not None and record.status == "canceled" and record.started_at is None
    assert store.costs_since(job_id) == []


def test_a_missing_dataset_fails_with_a_reason(store: JobStore, jobs: JobQueue) -> None:
    job_id = create(store, dataset={"id": "gone"}, epochs=50)
    assert execute(jobs, job_id) == "failed"
    record = store.get_job(job_id)
    assert record is not None and record.status == "failed"
    assert record.error == "dataset gone does not exist (any more)"
