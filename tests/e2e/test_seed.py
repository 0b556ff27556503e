"""The seed's three jobs through the service: the seed's accuracies and the trainer's exact cost history."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.e2e.helpers import FINISHED, job, submit
from trainer import OptimizerConfig, TrainConfig, load_builtin, train

pytestmark = [pytest.mark.e2e, pytest.mark.seed]

SEED_ACCURACY = {"gd": 0.7967, "momentum": 0.7967, "adam": 0.9400}


Points = list[tuple[int, float]]


def follow_all(client: httpx.Client, job_ids: list[str], timeout: float) -> dict[str, Points]:
    """Poll every job's ``/costs?since=`` in turn until all have finished; each one's whole history."""
    history: dict[str, Points] = {job_id: [] for job_id in job_ids}
    since = dict.fromkeys(job_ids, 0)
    running = set(job_ids)
    deadline = time.monotonic() + timeout
    while running:
        assert time.monotonic() < deadline, f"jobs {sorted(running)} did not finish within {timeout} s"
        for job_id in sorted(running):
            page = client.get(f"/jobs/{job_id}/costs", params={"since": since[job_id]}).json()
            history[job_id] += [(p["epoch"], p["cost"]) for p in page["points"]]
            since[job_id] = page["next_since"]
            if page["status"] in FINISHED and not page["points"]:
                running.discard(job_id)
        time.sleep(0.05)
    return history


def test_the_seeds_three_jobs_in_parallel(client: httpx.Client) -> None:
    job_ids = {name: submit(client, {"optimizer": {"name": name}}) for name in SEED_ACCURACY}
    history = follow_all(client, list(job_ids.values()), timeout=120)
    X, Y = load_builtin("moons")
    for name, job_id in job_ids.items():
        body = job(client, job_id)
        assert body["status"] == "succeeded", body
        assert round(body["result"]["accuracy"], 4) == SEED_ACCURACY[name]
        expected = train(X, Y, TrainConfig(optimizer=OptimizerConfig(name=name)))
        assert history[job_id] == [(p.epoch, p.cost) for p in expected.costs]
        assert body["result"]["final_cost"] == expected.final_cost
        assert body["progress"] == {"epoch": 10000, "epochs": 10000}


def test_the_seeds_adam_job_matches_descent_train(client: httpx.Client) -> None:
    job_id = submit(client, {"optimizer": {"name": "adam"}})
    command = [sys.executable, "-m", "descent", "train", "--optimizer", "adam", "--json", "--quiet"]
    report = json.loads(subprocess.run(command, capture_output=True, check=True, timeout=120).stdout)
    history = follow_all(client, [job_id], timeout=120)[job_id]
    assert history == [(p["epoch"], p["cost"]) for p in report["costs"]]
    assert job(client, job_id)["result"]["accuracy"] == report["accuracy"] == 0.94
