"""A worker SIGKILLed in the middle of a stack: RQ retries the stack on another worker, it resumes from the
stack's checkpoint, and every member ends bitwise equal to an uninterrupted stacked run, with one continuous
cost history. Real worker processes, real Redis."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

from core.config import Settings
from core.experiments.members import expand
from core.experiments.request import ExperimentCreate
from core.queue import JobQueue, rq_queue
from core.store import PUBLIC_OWNER, JobStore
from descent.embedded_redis import stop_process
from tests.e2e.helpers import start_worker, wait_for
from tests.jobs import WORKER_ENV, field, status, trained_model
from trainer import StackCheckpoint, StackedTraining, load_builtin


def test_a_killed_workers_stack_resumes_bitwise_equal(
    fault_store: JobStore, fault_settings: Settings, tmp_path: Path
) -> None:
    store, settings = fault_store, fault_settings
    assert settings.redis_url is not None
    request = ExperimentCreate.model_validate({"base": {"epochs": 8000, "record_every": 100}})
    jobs = JobQueue(store, rq_queue(store.redis, settings), settings)
    _, records = jobs.submit_experiment(
        "kill", request.model_dump(mode="json"), expand(request, 256), PUBLIC_OWNER
    )
    stack_id = records[0].stack

    first = start_worker(settings.redis_url, settings.queue_name, tmp_path / "first.log", env=WORKER_ENV)
    try:
        data = wait_for(lambda: store.load_stack_checkpoint(stack_id), 60, "the stack's first checkpoint")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(5)
    finally:
        stop_process(first)
    epoch = StackCheckpoint.from_bytes(data).epoch
    assert 0 < epoch < 8000 and {status(store, r.id) for r in records} == {"running"}

    second = start_worker(settings.redis_url, settings.queue_name, tmp_path / "second.log", env=WORKER_ENV)
    try:
        finished = lambda: {status(store, r.id) for r in records} == {"succeeded"}  # noqa: E731
        wait_for(finished, 120, "every member to succeed after the resume")
    finally:
        stop_process(second)
    assert "resuming from its checkpoint at epoch" in (tmp_path / "second.log").read_text()
    assert {field(store, r.id, "workers_lost") for r in records} == {"1"}

    configs = [store.get_spec(r.id).to_train_config() for r in records]
    expected = StackedTraining(*load_builtin("moons"), configs).run()
    for record, result in zip(records, expected, strict=True):
        assert store.costs_since(record.id) == [(p.epoch, p.cost) for p in result.costs]
        model = trained_model(store, record.id)
        assert model is not None
        for name, array in result.parameters.items():
            assert np.array_equal(model[name], array), (record.label, name)
        assert store.get_job(record.id).result["accuracy"] == result.accuracy
