"""The memory estimate that the API refuses jobs by is within 25 % of what a worker really uses.

Each job runs through the worker's own job function (``worker.tasks.execute``) in a fresh process
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
from core.spec import TrainingSpec
from core.store import JobStore
from trainer import estimate

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


@pytest.mark.timeout(180)
@pytest.mark.parametrize("spec", SHAPES)
def test_the_estimate_is_within_25_percent_of_the_workers_peak(
    spec: dict, store: JobStore, settings: Settings
) -> None:
    job = TrainingSpec.model_validate(spec)
    job_id = store.create_job(job).id
    env = {**os.environ, "REDIS_URL": str(settings.redis_url), "DESCENT_QUEUE_NAME": settings.queue_name}
    run = subprocess.run(
        [sys.executable, "-m", "tests.worker.peak_rss", job_id],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=True,
    )
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    assert measured["ended"] == "succeeded"
    used = measured["peak"] - measured["baseline"]
    estimated = estimate(job.to_train_config(), *job.dataset.shape()).memory_bytes
    print(f"{job_id}: used {used / 2**20:.1f} MiB, estimated {estimated / 2**20:.1f} MiB")
    assert used > 100 * 2**20, "a shape big enough that the job, not the interpreter, is measured"
    assert abs(estimated - used) <= 0.25 * used, f"estimated {estimated} bytes, the worker used {used}"
