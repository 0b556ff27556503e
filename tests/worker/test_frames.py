"""Boundary frames recorded by real runs on the suite's Redis, in-process: a solo job's and each stack
member's parameters at the frame epochs, the last one equal to the final model; none for 3 features."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import redis
from rq import Queue

from core.boundary import decision_boundary
from core.config import Settings
from core.frames import frame_epochs, frame_parameters
from core.queue import JobQueue
from core.store import JobStore
from tests.jobs import trained_model
from tests.worker.test_stacks import run, submit, when
from tests.worker.test_tasks import create, execute
from trainer import load_builtin
from trainer.network import layer_sizes


def frame(store: JobStore, job_id: str, epoch: int) -> dict[str, np.ndarray]:
    """The frame stored at exactly ``epoch``, read with the job's layer sizes."""
    found, job = store.get_frame(job_id, epoch), store.get_job(job_id)
    assert found is not None and found[0] == epoch and job is not None
    return frame_parameters(found[1], layer_sizes(2, job.spec["layers"]))


def assert_last_frame_is_the_model(store: JobStore, job_id: str, epochs: int) -> None:
    last, model = frame(store, job_id, epochs), trained_model(store, job_id)
    assert model is not None and list(last) == list(model)
    for name, array in model.items():
        assert np.array_equal(last[name], array.astype(np.float32).astype(np.float64)), name  # float32 only


def test_a_solo_2_feature_job_records_its_frames_and_the_last_is_its_model(
    store: JobStore, jobs: JobQueue
) -> None:
    job_id = create(store, optimizer={"name": "adam", "learning_rate": 0.01}, epochs=200, record_every=10)
    assert execute(jobs, job_id) == "succeeded"
    expected = frame_epochs(200, jobs.settings.boundary_frames)
    assert store.frame_epochs(job_id) == expected and len(expected) == 20
    assert_last_frame_is_the_model(store, job_id, 200)
    X, Y = load_builtin("moons")
    first = decision_boundary(frame(store, job_id, 1), X, Y, 50, 10)
    final = decision_boundary(trained_model(store, job_id), X, Y, 50, 10)
    assert np.abs(first.probabilities - final.probabilities).max() > 0.2, "the boundary forms while training"
    ttl = store.redis.ttl(store.keys.frames(job_id))
    assert 0 < ttl <= jobs.settings.result_ttl_seconds


def test_a_3_feature_job_records_no_frames(store: JobStore, jobs: JobQueue) -> None:
    rng = np.random.default_rng(0)
    data = {"X": rng.normal(size=(3, 40)).round(3).tolist(), "Y": (rng.random(40) > 0.5).astype(int).tolist()}
    job_id = create(store, dataset=data, epochs=50, layers=[4])
    assert execute(jobs, job_id) == "succeeded"
    assert store.frame_epochs(job_id) == []


def test_each_stack_member_records_its_own_frames(jobs: JobQueue, store: JobStore) -> None:
    records = submit(
        jobs,
        {
            "base": {"epochs": 150, "record_every": 10},
            "variants": [{"optimizer": {"name": n}} for n in ("gd", "momentum", "adam")],
        },
    )
    assert len({r.stack for r in records}) == 1
    assert run(jobs, records[0].stack) == "3 succeeded"
    expected = frame_epochs(150, jobs.settings.boundary_frames)
    for record in records:
        assert store.frame_epochs(record.id) == expected
        assert_last_frame_is_the_model(store, record.id, 150)
    firsts = [frame(store, r.id, 50 if 50 in expected else expected[5])["W1"] for r in records]
    assert not np.array_equal(firsts[0], firsts[2]), "each member's own parameters (gd vs adam)"


def test_a_member_that_ended_early_gets_no_more_frames(jobs: JobQueue, store: JobStore) -> None:
    records = submit(jobs, {"base": {"epochs": 3000, "record_every": 10}, "grid": {"init_seed": [1, 2]}})
    victim = records[1].id
    when(lambda: len(store.costs_since(victim)) >= 5, lambda: store.request_cancel(victim))
    assert run(jobs, records[0].stack) == "1 canceled, 1 succeeded"
    expected = frame_epochs(3000, jobs.settings.boundary_frames)
    ended_at = store.get_job(victim).epoch
    assert ended_at < 3000
    assert store.frame_epochs(victim) == [e for e in expected if e <= ended_at]
    assert store.frame_epochs(records[0].id) == expected


def test_frames_stored_before_a_hand_back_stay_and_the_resumed_run_adds_the_rest(
    store: JobStore, jobs: JobQueue
) -> None:
    job_id = create(store, optimizer={"name": "momentum"}, epochs=6000, record_every=50)
    shutdown = threading.Event()
    when(lambda: len(store.frame_epochs(job_id)) >= 3, shutdown.set)
    assert execute(jobs, job_id, shutdown) == "handed back"
    before = {epoch: frame(store, job_id, epoch) for epoch in store.frame_epochs(job_id)}
    assert 3 <= len(before) < 20
    assert execute(jobs, job_id) == "succeeded"
    assert store.frame_epochs(job_id) == frame_epochs(6000, jobs.settings.boundary_frames)
    for epoch, kept in before.items():  # kept, or written again with the same values (resumes are bitwise)
        after = frame(store, job_id, epoch)
        assert all(np.array_equal(after[name], array) for name, array in kept.items()), epoch
    assert_last_frame_is_the_model(store, job_id, 6000)


class FirstFramesFail(JobStore):
    """The real store, whose first ``save_frames`` fails as a write to a Redis that went away does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed: list[list[int]] = []  # the epochs each failed call carried

    def save_frames(self, frames: Any) -> None:
        if not self.failed:
            self.failed.append(sorted({epoch for by_epoch in frames.values() for epoch in by_epoch}))
            raise redis.ConnectionError("Redis went away")
        super().save_frames(frames)


def test_frames_whose_write_failed_are_written_by_a_later_flush(
    redis_client: redis.Redis, settings: Settings, queue: Queue
) -> None:
    store = FirstFramesFail(redis_client, settings)
    job_id = create(store, optimizer={"name": "adam"}, epochs=2000, record_every=10)
    assert execute(JobQueue(store, queue, settings), job_id) == "succeeded"
    assert store.failed and store.failed[0], "a write that carried frames failed"
    assert store.frame_epochs(job_id) == frame_epochs(2000, settings.boundary_frames)
