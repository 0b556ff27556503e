"""Redis restarts with AOF on: no queued, running or finished job is lost, and the running one continues
on its worker and ends as an uninterrupted run would. After a SIGKILL Redis stays down longer than the
heartbeat window, so every heartbeat is stale when it returns: the job must still not be taken for lost."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from core.store import JobStore
from descent.embedded_redis import stop_process
from tests.e2e.helpers import start_worker, wait_for
from tests.jobs import WORKER_ENV, enqueue, field, status, trained_model
from tests.servers import RedisServer
from trainer import OptimizerConfig, TrainConfig, load_builtin, train

WINDOW = float(WORKER_ENV["DESCENT_HEARTBEAT_SECONDS"])


@pytest.mark.parametrize("how", ["shutdown", "sigkill"])
def test_a_redis_restart_loses_no_job_and_the_running_one_continues(
    how: str, aof_redis: RedisServer, fault_store: JobStore, fault_settings: Settings, tmp_path: Path
) -> None:
    store, settings = fault_store, fault_settings
    assert settings.redis_url is not None
    log = tmp_path / "worker.log"
    worker = start_worker(settings.redis_url, settings.queue_name, log, env=WORKER_ENV)
    try:
        finished = enqueue(store, settings, optimizer={"name": "gd"}, epochs=50)
        wait_for(lambda: status(store, finished) == "succeeded", 30, "a first job to finish")
        running = enqueue(store, settings, optimizer={"name": "adam"}, epochs=40_000, record_every=100)
        queued = enqueue(store, settings, optimizer={"name": "momentum"}, epochs=300, record_every=10)
        wait_for(lambda: store.load_checkpoint(running), 30, "the running job's first checkpoint")

        if how == "shutdown":
            aof_redis.restart()
        else:
            aof_redis.kill()
            time.sleep(WINDOW + 1)
            aof_redis.start()

        # the worker trained on while Redis was away, so on a loaded machine it may be done already
        after = {j: status(store, j) for j in (finished, running, queued)}
        assert after[finished] == "succeeded" and trained_model(store, finished) is not None
        assert after[running] in ("running", "succeeded"), after
        assert after[queued] in ("queued", "running", "succeeded"), after
        # the queued job's RQ entry survived too: nothing else enqueues it
        wait_for(lambda: status(store, queued) == "succeeded", 60, "both jobs to finish", interval=0.1)
        assert worker.poll() is None, log.read_text()
    finally:
        stop_process(worker)

    assert status(store, running) == "succeeded"
    assert field(store, running, "workers_lost") is None, "a live worker's job must not be reaped"
    for job_id, name, epochs, every in ((running, "adam", 40_000, 100), (queued, "momentum", 300, 10)):
        config = TrainConfig(optimizer=OptimizerConfig(name=name), epochs=epochs, record_every=every)
        expected = train(*load_builtin("moons"), config)
        assert store.costs_since(job_id) == [(p.epoch, p.cost) for p in expected.costs]
        model = trained_model(store, job_id)
        assert model is not None
        for key, array in expected.parameters.items():
            assert np.array_equal(model[key], array), (job_id, key)
