"""Experiments through the service, with real workers: the course's comparison as one experiment gives the
seed's table, and a learning-rate grid gives a result per member."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import wait_for

pytestmark = pytest.mark.e2e

SEED_TABLE = {"gd": 0.7967, "momentum": 0.7967, "adam": 0.9400}


def run_experiment(client: httpx.Client, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST the experiment, follow every member's costs with one poll per round, return it finished."""
    response = client.post("/experiments", json=body)
    assert response.status_code == 202, response.text
    experiment_id = response.json()["id"]
    seen: dict[str, list[int]] = {m["job_id"]: [] for m in response.json()["members"]}
    since, deadline = 0, time.monotonic() + timeout
    while True:
        page = client.get(f"/experiments/{experiment_id}/costs", params={"since": since}).json()
        for member in page["members"]:
            seen[member["job_id"]] += [
                p["epoch"] for p in member["points"] if p["epoch"] not in seen[member["job_id"]]
            ]
        since = page["next_since"]
        if page["status"] in ("succeeded", "failed", "canceled"):
            break
        assert time.monotonic() < deadline, f"experiment {experiment_id} did not finish in {timeout} s"
        time.sleep(0.1)
    finished = client.get(f"/experiments/{experiment_id}", params={"sort": "-accuracy"}).json()
    for member in finished["members"]:
        costs = client.get(f"/jobs/{member['job_id']}/costs").json()["points"]
        assert sorted(seen[member["job_id"]]) == [p["epoch"] for p in costs], (
            "one poll a round saw every point"
        )
    return finished


@pytest.mark.seed
def test_the_courses_comparison_as_one_experiment_gives_the_seeds_table(client: httpx.Client) -> None:
    experiment = run_experiment(client, {}, timeout=180)
    assert experiment["status"] == "succeeded"
    table = {row["label"]: row for row in experiment["table"]}
    assert {label: round(row["accuracy"], 4) for label, row in table.items()} == SEED_TABLE
    assert experiment["table"][0]["label"] == "adam", "sorted by accuracy, descending"
    assert table["adam"]["final_cost"] < table["gd"]["final_cost"]
    assert all(
        row["roughness"] is not None and row["shape"] in ("smooth", "oscillating") for row in table.values()
    )


def test_an_eight_point_learning_rate_grid_gives_eight_results(client: httpx.Client) -> None:
    rates = [10 ** (-4 + 3 * i / 7) for i in range(8)]
    body = {
        "name": "lr",
        "base": {"epochs": 300, "record_every": 20},
        "grid": {"optimizer.learning_rate": rates},
    }
    experiment = run_experiment(client, body, timeout=120)
    assert experiment["counts"] == {"succeeded": 8}
    assert sorted(row["params"]["optimizer.learning_rate"] for row in experiment["table"]) == sorted(rates)
    assert all(
        row["accuracy"] is not None and row["epochs_to_converge"] is not None for row in experiment["table"]
    )
    plot = client.get(f"/experiments/{experiment['id']}/plot", params={"format": "png"})
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
    wait_for(lambda: client.get("/experiments").json()["total"] >= 1, 5, "the listing")
