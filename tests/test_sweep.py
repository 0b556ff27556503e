"""`descent sweep`: the service's experiment expansion, trained in-process as stacks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from descent.cli import app
from trainer import OptimizerConfig, TrainConfig, load_builtin, train

runner = CliRunner()


def sweep_json(*args: str) -> list[dict]:
    result = runner.invoke(app, ["sweep", "--quiet", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_grid_gives_one_run_per_point_each_equal_to_its_solo_run() -> None:
    reports = sweep_json(
        "--set", "epochs=60", "--set", "record_every=10", "--set", "optimizer.name=momentum",
        "--grid", "optimizer.learning_rate=0.001,0.01,0.1", "--grid", "init_seed=1,2", "--sort", "label",
    )  # fmt: skip
    assert len(reports) == 6
    assert reports[0]["label"] == "lr=0.001 init_seed=1"
    chosen = next(r for r in reports if r["label"] == "lr=0.1 init_seed=2")
    assert chosen["params"] == {"optimizer.learning_rate": 0.1, "init_seed": 2}
    config = TrainConfig(
        optimizer=OptimizerConfig(name="momentum", learning_rate=0.1), epochs=60, record_every=10, init_seed=2
    )
    solo = train(*load_builtin("moons"), config)
    assert [p["epoch"] for p in chosen["costs"]] == [p.epoch for p in solo.costs]
    np.testing.assert_allclose(
        [p["cost"] for p in chosen["costs"]], [p.cost for p in solo.costs], rtol=0, atol=1e-10
    )
    assert chosen["accuracy"] == solo.accuracy


def test_a_random_search_is_reproducible_and_sorted() -> None:
    args = (
        "--set",
        "epochs=20",
        "--random",
        "5",
        "--space",
        "optimizer.learning_rate=log_uniform:0.0001:0.1",
    )
    first, again = sweep_json(*args, "--random-seed", "3"), sweep_json(*args, "--random-seed", "3")
    assert [r["label"] for r in first] == [r["label"] for r in again] and len(first) == 5
    accuracies = [r["accuracy"] for r in first]
    assert accuracies == sorted(accuracies, reverse=True), "sorted by accuracy, best first"
    assert all(1e-4 <= r["params"]["optimizer.learning_rate"] <= 0.1 for r in first)


def test_a_body_file_a_local_dataset_the_table_and_the_plot(tmp_path: Path) -> None:
    X, Y = load_builtin("blobs")
    data = tmp_path / "data.csv"
    np.savetxt(data, np.hstack([X.T, Y.T]), delimiter=",", header="a,b,label", comments="")
    body = tmp_path / "sweep.json"
    body.write_text(
        json.dumps({"name": "blobs", "base": {"epochs": 15}, "variants": [{}, {"mini_batch_size": "full"}]})
    )
    plot = tmp_path / "sweep.png"
    result = runner.invoke(app, ["sweep", str(body), "--dataset", str(data), "--plot", str(plot), "-q"])
    assert result.exit_code == 0, result.output
    assert "blobs" in result.stdout and "batch=full" in result.stdout and "roughness" in result.stdout
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_bad_sweeps_say_what_is_wrong() -> None:
    cases = [
        (["--grid", "optimizer.lrate=0.1"], "grid.optimizer.lrate: unknown spec path"),
        (["--set", "epochs=0"], "epochs"),
        (["--grid", "init_seed"], "expected PATH=VALUE"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["sweep", "-q", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
