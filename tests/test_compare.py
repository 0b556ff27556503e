"""`descent compare`: several optimizers on the same data, as a table, JSON and one chart."""

import json
import re

import pytest
from typer.testing import CliRunner

from descent.cli import app

runner = CliRunner()


def compare(*args: str):
    return runner.invoke(app, ["compare", "--quiet", *args])


def compare_json(*args: str) -> list[dict]:
    result = compare("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_one_report_per_optimizer_in_order():
    reports = compare_json("--optimizers", "adam,gd,rmsprop", "--epochs", "30", "--record-every", "10")
    assert [r["optimizer"] for r in reports] == ["adam", "gd", "rmsprop"]
    for report in reports:
        assert 0.0 <= report["accuracy"] <= 1.0
        assert [p["epoch"] for p in report["costs"]] == [1, 11, 21, 30]
        assert report["final_cost"] == report["costs"][-1]["cost"]


def test_each_run_equals_descent_train_with_the_same_settings():
    """The runs train as one stack; each equals its solo run within 1e-10."""
    settings = ["--epochs", "40", "--layers", "4,3", "--mini-batch-size", "37", "--learning-rate", "0.01"]
    compared = {r["optimizer"]: r for r in compare_json("--optimizers", "momentum,adam", *settings)}
    for name in ("momentum", "adam"):
        trained = runner.invoke(app, ["train", "--json", "-q", "--optimizer", name, *settings])
        single = json.loads(trained.stdout)
        assert [p["epoch"] for p in compared[name]["costs"]] == [p["epoch"] for p in single["costs"]]
        stacked, solo = ([p["cost"] for p in r["costs"]] for r in (compared[name], single))
        assert max(abs(a - b) for a, b in zip(stacked, solo, strict=True)) <= 1e-10
        assert compared[name]["accuracy"] == single["accuracy"]


def test_the_table_lists_every_optimizer():
    result = compare("--optimizers", "gd,adam", "--epochs", "5", "--validation-fraction", "0.2")
    assert result.exit_code == 0, result.output
    assert "gd" in result.stdout and "adam" in result.stdout and "validation" in result.stdout


def test_plot_has_one_line_per_optimizer(tmp_path):
    path = tmp_path / "compare.svg"
    compare_json("--optimizers", "gd,momentum", "--epochs", "20", "--plot", str(path))
    image = path.read_text()
    assert "<svg" in image and "gd" in image and "momentum" in image


@pytest.mark.parametrize("optimizers", ["gd,sgd", "adam,adam", ""])
def test_bad_optimizer_lists_are_refused(optimizers):
    result = compare("--optimizers", optimizers, "--epochs", "2")
    assert result.exit_code == 2
    assert "--optimizers" in result.output


@pytest.mark.seed
def test_the_courses_comparison():
    reports = compare_json()
    assert {r["optimizer"]: round(r["accuracy"], 4) for r in reports} == {
        "gd": 0.7967,
        "momentum": 0.7967,
        "adam": 0.94,
    }


def test_each_column_has_one_number_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = compare("--optimizers", "gd,momentum,adam", "--epochs", "30", "--plot", "c.svg")
    assert result.exit_code == 0, result.output
    rows = [line.split("│")[1:-1] for line in result.stdout.splitlines() if line.count("│") == 8]
    cells = [[cell.strip() for cell in row] for row in rows if row[0].strip() in ("gd", "momentum", "adam")]
    assert len(cells) == 3
    # run | accuracy | final cost | roughness | shape | converged at | seconds
    formats = [(1, r"\d\.\d{4}"), (2, r"\d+\.\d{6}"), (3, r"\d+\.\d{3}"), (5, r"\d+"), (6, r"\d+\.\d{2}")]
    for column, pattern in formats:
        assert all(re.fullmatch(pattern, row[column]) for row in cells), [row[column] for row in cells]
    assert f"descent: wrote the cost chart to {tmp_path / 'c.svg'}" in result.stderr
