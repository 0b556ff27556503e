"""A stack's job function on the suite's real Redis, run in-process: members as solo jobs, each with its
own life, and a hand-back that resumes bitwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from core.experiments.members import expand
from core.experiments.request import ExperimentCreate
from core.queue import JobQueue
from core.store import PUBLIC_OWNER, JobRecord, JobStore
from tests.jobs import trained_model
from trainer import StackedTraining, Training, load_builtin
from worker.stacks import execute_stack


def submit(jobs: JobQueue, body: dict[str, Any]) -> list[JobRecord]:
    request = ExperimentCreate.model_validate(body)
    _, records = jobs.submit_experiment(
        "test", request.model_dump(mode="json"), expand(request, 256), PUBLIC_OWNER
    )
    return records


def run(jobs: JobQueue, stack_id: str, shutdown: threading.Event | None = None) -> str:
    return execute_stack(jobs, stack_id, jobs.settings, shutdown or threading.Event())


def when(predicate: Callable[[], bool], then: Callable[[], None], timeout: float = 30) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                then()
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def assert_like_solo(store: JobStore, record: JobRecord, tolerance: float = 1e-10) -> None:
    """The member's stored costs and model equal its solo run's within ``tolerance``."""
    spec = store.get_spec(record.id)
    solo = Training(*spec.dataset.arrays(), spec.to_train_config()).run()
    stored = store.costs_since(record.id)
    assert [e for e, _ in stored] == [p.epoch for p in solo.costs]
    np.testing.assert_allclose([c for _, c in stored], [p.cost for p in solo.costs], rtol=0, atol=tolerance)
    model = trained_model(store, record.id)
    assert model is not None
    for name, array in solo.parameters.items():
        np.testing.assert_allclose(model[name], array, rtol=0, atol=tolerance, err_msg=name)
    assert store.get_job(record.id).result["accuracy"] == solo.accuracy


def test_each_member_ends_as_its_solo_run(jobs: JobQueue, store: JobStore) -> None:
    records = submit(
        jobs,
        {
            "base": {"epochs": 400, "record_every": 20},
            "variants": [{"optimizer": {"name": n}} for n in ("gd", "nesterov", "rmsprop", "adamw")],
        },
    )
    assert len({r.stack for r in records}) == 1
    assert run(jobs, records[0].stack) == "4 succeeded"
    for record in records:
        job = store.get_job(record.id)
        assert job.status == "succeeded" and job.epoch == 400 and job.timeout_seconds is not None
        assert_like_solo(store, record)
    experiment = store.get_experiment(records[0].experiment_id)
    assert store.redis.ttl(store.keys.experiment(experiment.id)) > 0, "a finished experiment expires"


def test_canceling_one_member_stops_it_and_the_others_go_on(jobs: JobQueue, store: JobStore) -> None:
    records = submit(jobs, {"base": {"epochs": 3000, "record_every": 10}, "grid": {"init_seed": [1, 2, 3]}})
    victim = records[1].id
    when(lambda: len(store.costs_since(victim)) >= 5, lambda: store.request_cancel(victim))
    assert run(jobs, records[0].stack) == "1 canceled, 2 succeeded"
    canceled = store.get_job(victim)
    assert canceled.status == "canceled" and trained_model(store, victim) is None
    kept = store.costs_since(victim)
    assert len(kept) >= 5 and canceled.epoch < 3000 and kept[-1][0] <= canceled.epoch
    for record in (records[0], records[2]):
        assert_like_solo(store, record)


def test_a_diverging_member_fails_and_the_others_go_on(jobs: JobQueue, store: JobStore) -> None:
    records = submit(
        jobs,
        {
            "base": {"epochs": 300, "record_every": 1, "optimizer": {"name": "gd"}},
            "grid": {"optimizer.learning_rate": [0.0007, 3e154, 0.007]},
        },
    )
    assert run(jobs, records[0].stack) == "1 failed, 2 succeeded"
    diverged = store.get_job(records[1].id)
    assert diverged.status == "failed" and diverged.error.startswith("diverged at epoch ")
    epoch = int(diverged.error.rsplit(" ", 1)[1])
    assert [e for e, _ in store.costs_since(records[1].id)] == list(range(1, epoch))
    for record in (records[0], records[2]):
        assert_like_solo(store, record)


def test_a_shutdown_hands_the_stack_back_and_it_resumes_bitwise(jobs: JobQueue, store: JobStore) -> None:
    body = {
        "base": {"epochs": 4000, "record_every": 50},
        "variants": [{"optimizer": {"name": "momentum"}}, {}],
    }
    records = submit(jobs, body)
    stack_id = records[0].stack
    jobs.queue.empty()
    shutdown = threading.Event()
    when(lambda: len(store.costs_since(records[0].id)) >= 4, shutdown.set)
    assert run(jobs, stack_id, shutdown) == "handed back"
    for record in records:
        job = store.get_job(record.id)
        assert job.status == "queued" and 150 < job.epoch < 4000
    assert [j.args for j in jobs.queue.jobs] == [[stack_id]]
    assert store.load_stack_checkpoint(stack_id) is not None

    assert run(jobs, stack_id) == "2 succeeded"
    specs = [store.get_spec(r.id) for r in records]
    expected = StackedTraining(*load_builtin("moons"), [s.to_train_config() for s in specs]).run()
    for record, result in zip(records, expected, strict=True):
        assert store.costs_since(record.id) == [(p.epoch, p.cost) for p in result.costs]
        model = trained_model(store, record.id)
        for name, array in result.parameters.items():
            assert np.array_equal(model[name], array), name  # bitwise


def test_a_member_canceled_while_queued_never_starts(jobs: JobQueue, store: JobStore) -> None:
    records = submit(jobs, {"base": {"epochs": 100, "record_every": 10}, "grid": {"init_seed": [1, 2]}})
    assert store.mark_canceled(records[0].id)
    jobs.withdraw(records[0].id)
    assert jobs.queue.count == 1, "the other member still needs the stack's RQ job"
    assert run(jobs, records[0].stack) == "1 succeeded"
    skipped = store.get_job(records[0].id)
    assert (
        skipped.status == "canceled" and skipped.started_at is None and store.costs_since(records[0].id) == []
    )
    assert_like_solo(store, records[1])
