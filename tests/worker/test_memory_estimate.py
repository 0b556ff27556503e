"""The memory estimate that the API refuses jobs by is within 25 % of what a worker really uses.

Each job (and an experiment's stack) runs through the worker's own job function
(``worker.tasks.execute``, ``worker.stacks.execute_stack``) in a fresh process
(``tests/worker/peak_rss.py``); what it used is the process's peak resident set less its resident set
just before the job, with everything a worker imports already loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from core.experiments.members import expand
from core.experiments.request import ExperimentCreate
from core.queue import JobQueue
from core.spec import TrainingSpec
from core.store import JobStore
from trainer import estimate, estimate_stack

ROOT = Path(__file__).resolve().parents[2]

SHAPES = [
    pytest.param(
        {
            "dataset": {"name": "moons", "n_samples": 40_000},
            "layers": [512],
            "mini_batch_size": "full",
            "epochs": 2,
        },
        id="full-batch-wide",
    ),
    pytest.param(
        {
            "dataset": {"name": "moons", "n_samples": 5_000},
            "layers": [1024, 1024],
            "mini_batch_size": 256,
            "epochs": 1,
        },
        id="mini-batch-deep",
    ),
    pytest.param(
        {
            "dataset": {"name": "circles", "n_samples": 50_001},
            "layers": [256, 128],
            "mini_batch_size": 3000,
            "epochs": 2,
            "validation_fraction": 0.2,
            "optimizer": {"name": "momentum"},
        },
        id="validation-and-a-short-last-batch",
    ),
]


def peak_of(what: str, settings: Settings) -> int:
    """Bytes the worker's job function used for ``what`` (a job id, or ``stack:{id}``), run in a fresh
    process: its peak resident set less its resident set just before."""
    env = {**os.environ, "REDIS_URL": str(settings.redis_url), "DESCENT_QUEUE_NAME": settings.queue_name}
    run = subprocess.run(
        [sys.executable, "-m", "tests.worker.peak_rss", what],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=True,
    )
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    assert measured["ended"] in ("succeeded", "4 succeeded")
    return measured["peak"] - measured["baseline"]


def assert_within_25_percent(estimated: int, used: int) -> None:
    print(f"used {used / 2**20:.1f} MiB, estimated {estimated / 2**20:.1f} MiB")
    assert used > 100 * 2**20, "a shape big enough that the job, not the interpreter, is measured"
    assert abs(estimated - used) <= 0.25 * used, f"estimated {estimated} bytes, the worker used {used}"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("spec", SHAPES)
def test_the_estimate_is_within_25_percent_of_the_workers_peak(
    spec: dict, store: JobStore, settings: Settings
) -> None:
    job = TrainingSpec.model_validate(spec)
    used = peak_of(store.create_job(job).id, settings)
    assert_within_25_percent(estimate(job.to_train_config(), *job.dataset.shape()).memory_bytes, used)


@pytest.mark.timeout(180)
def test_the_estimate_of_an_experiments_stack_is_within_25_percent(
    jobs: JobQueue, settings: Settings
) -> None:
    base = {"dataset": {"name": "moons", "n_samples": 20_000}, "layers": [256], "mini_batch_size": "full"}
    body = ExperimentCreate.model_validate(
        {"base": {**base, "epochs": 2}, "grid": {"optimizer.name": ["gd", "momentum", "adam", "rmsprop"]}}
    )
    members = expand(body, settings.max_experiment_members)
    one_stack = settings.model_copy(update={"max_step_seconds": 10.0})  # else the step cap splits it in two
    queue = JobQueue(jobs.store, jobs.queue, one_stack)
    _, records = queue.submit_experiment("stack", body.model_dump(mode="json"), members, "public")
    assert len({record.stack for record in records}) == 1
    used = peak_of(f"stack:{records[0].stack}", settings)
    configs = [member.spec.to_train_config() for member in members]
    assert_within_25_percent(estimate_stack(configs, 2, 20_000).memory_bytes, used)
