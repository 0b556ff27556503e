"""`descent train`: flags, --json, --output, data files and the error messages of bad input."""

import json
import os
import re
import signal
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from descent.cli import app
from trainer.data import load_builtin

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["train", *args])


def flat(text: str) -> str:
    """The words of a (rich-boxed, wrapped) message on one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def run_json(*args: str) -> dict:
    result = invoke("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_results_and_the_config():
    report = run_json("--epochs", "50", "--quiet")
    keys = {"accuracy", "final_cost", "costs", "seconds", "epochs", "steps", "optimizer", "config"}
    assert keys <= set(report)
    assert "validation_accuracy" not in report
    assert 0.0 <= report["accuracy"] <= 1.0
    assert [point["epoch"] for point in report["costs"]] == [1, 50]
    assert report["final_cost"] == report["costs"][-1]["cost"] > 0
    assert report["epochs"] == 50 and report["steps"] == 50 * 5  # 300 examples in batches of 64
    assert report["optimizer"] == "adam" and report["stopped"] is False
    assert report["config"]["layers"] == [5, 2]
    assert report["config"]["optimizer"]["learning_rate"] == 0.0007
    assert report["config"]["mini_batch_size"] == 64 and report["config"]["seed"] == 10
    assert report["dataset"] == {"name": "moons", "features": 2, "examples": 300}


def test_flags_reach_the_config():
    report = run_json(
        "--epochs",
        "7",
        "--record-every",
        "3",
        "--optimizer",
        "momentum",
        "--learning-rate",
        "0.01",
        "--beta",
        "0.8",
        "--mini-batch-size",
        "full",
        "--layers",
        "3",
        "--seed",
        "4",
        "--init-seed",
        "5",
        "--epsilon-outside-sqrt",
        "--decay",
        "fixed_interval",
        "--decay-rate",
        "0.5",
        "--time-interval",
        "2",
    )
    config = report["config"]
    assert [point["epoch"] for point in report["costs"]] == [1, 4, 7]
    assert report["steps"] == 7 and report["optimizer"] == "momentum"
    assert config["layers"] == [3] and config["mini_batch_size"] is None
    assert config["optimizer"]["beta"] == 0.8 and config["optimizer"]["epsilon_inside_sqrt"] is False
    assert config["decay"] == {"name": "fixed_interval", "decay_rate": 0.5, "time_interval": 2}
    assert (config["seed"], config["init_seed"]) == (4, 5)


def test_validation_split_is_reported():
    report = run_json("--epochs", "5", "--validation-fraction", "0.2", "--quiet")
    assert 0.0 <= report["validation_accuracy"] <= 1.0
    assert report["steps"] == 5 * 4  # 240 training examples in batches of 64


def test_progress_goes_to_stderr_and_summary_to_stdout():
    result = invoke("--epochs", "30", "--dataset", "circles", "--n-samples", "100")
    assert result.exit_code == 0, result.output
    assert "30/30" in result.stderr
    assert "adam on circles (2 x 100)" in result.stdout
    assert "training accuracy" in result.stdout and "30/30" not in result.stdout


def test_output_saves_the_parameters(tmp_path):
    path = tmp_path / "params.npz"
    report = run_json("--epochs", "3", "--layers", "4,3", "--dataset", "flower", "--output", str(path), "-q")
    with np.load(path) as saved:
        shapes = {name: saved[name].shape for name in saved.files}
    assert shapes == {"W1": (4, 2), "b1": (4, 1), "W2": (3, 4), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1)}
    assert report["dataset"]["examples"] == 400


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_plot_draws_the_cost_history(tmp_path, suffix):
    path = tmp_path / f"costs.{suffix}"
    run_json("--epochs", "20", "--record-every", "5", "--plot", str(path), "-q")
    image = path.read_bytes()
    if suffix == "svg":
        assert b"<svg" in image
        assert b"adam on moons" in image
    else:
        assert image.startswith(b"\x89PNG")


def test_plot_refuses_other_formats(tmp_path):
    result = invoke("--epochs", "2", "--plot", str(tmp_path / "costs.pdf"))
    assert result.exit_code == 2
    assert ".svg or .png" in flat(result.output)


def test_data_files(tmp_path):
    X, Y = load_builtin("blobs", n_samples=60)
    npz = tmp_path / "data.npz"
    np.savez(npz, X=np.vstack([X, X[:1]]), Y=Y.ravel())
    report = run_json("--epochs", "2", "--dataset", str(npz), "-q")
    assert report["dataset"] == {"name": str(npz), "features": 3, "examples": 60}
    csv = tmp_path / "data.csv"
    np.savetxt(csv, np.hstack([X.T, Y.T]), delimiter=",", header="x1,x2,label", comments="")
    report = run_json("--epochs", "2", "--dataset", str(csv), "-q")
    assert report["dataset"] == {"name": str(csv), "features": 2, "examples": 60}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layers", "5,x"], "--layers: expected comma-separated integers such as 5,2; got '5,x'"),
        (["--layers", "5,0"], "every hidden layer needs at least 1 unit"),
        (["--layers", ""], "expected comma-separated integers such as 5,2; got ''"),
        (["--beta", "1.5"], "Error: optimizer.beta must be in [0, 1)"),
        (["--learning-rate", "0"], "Error: optimizer.learning_rate must be > 0"),
        (["--optimizer", "sgdx"], "'sgdx' is not one of 'gd', 'momentum', 'nesterov', 'rmsprop', 'adam',"),
        (["--mini-batch-size", "0"], "--mini-batch-size: expected a positive integer or 'full'; got '0'"),
        (["--mini-batch-size", "many"], "expected a positive integer or 'full'; got 'many'"),
        (["--epochs", "0"], "Invalid value for '--epochs'"),
        (["--decay", "cosine"], "'cosine' is not one of 'none', 'inverse_time', 'fixed_interval'"),
        (["--dataset", "spiral"], "'spiral' is neither a built-in data set (moons, circles, blobs, flower)"),
        (["--validation-fraction", "0.001"], "leaves an empty validation set"),
        (["--dataset", "flower", "--n-samples", "1"], "Invalid value for '--n-samples'"),
    ],
)
def test_bad_input_exits_with_a_message_and_no_traceback(args, message):
    result = invoke("--epochs", "2", "-q", *args)
    assert result.exit_code == 2
    assert message in flat(result.output)
    assert "Traceback" not in result.output and result.stdout == ""


def test_bad_data_files(tmp_path):
    npz = tmp_path / "bad.npz"
    np.savez(npz, X=np.zeros((2, 4)), Y=np.array([0, 1, 2, 1]))
    csv = tmp_path / "bad.csv"
    csv.write_text("1,2,0\n3,4\n")
    nolabels = tmp_path / "nolabels.npz"
    np.savez(nolabels, features=np.zeros((2, 4)))
    cases = [
        (npz, "labels must be 0 or 1; Y has 1 other label(s): 2"),
        (csv, f"cannot read {csv}"),
        (nolabels, "must hold arrays X and Y; it has ['features']"),
    ]
    for path, message in cases:
        result = invoke("--epochs", "2", "-q", "--dataset", str(path))
        assert result.exit_code == 2, result.output
        assert message in flat(result.stderr)
    result = invoke("--dataset", str(npz), "--noise", "0.1")
    assert result.exit_code == 2 and "apply to built-in data sets only" in result.stderr


def test_divergence_exits_1_and_names_the_epoch():
    result = invoke("--epochs", "5", "-q", "--optimizer", "gd", "--learning-rate", "1e300")
    assert result.exit_code == 1
    assert "Error: diverged at epoch 1; try a smaller --learning-rate" in result.stderr


def test_ctrl_c_stops_the_run_and_still_reports_it():
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        report = run_json("--epochs", "1000000", "-q")
    finally:
        timer.cancel()
    assert report["stopped"] is True
    assert 0 < report["epochs"] < 1000000
    assert report["costs"][-1]["epoch"] <= report["epochs"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.seed
@pytest.mark.parametrize(("optimizer", "expected"), [("gd", 0.7967), ("momentum", 0.7967), ("adam", 0.9400)])
def test_seed_table(optimizer, expected):
    report = run_json("--optimizer", optimizer, "--quiet")
    assert report["epochs"] == 10000 and report["steps"] == 50000
    assert round(report["accuracy"], 4) == expected


def test_every_file_written_is_named_on_stderr_with_its_full_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--epochs", "3", "--output", "params.npz", "--plot", "costs.svg", "-q"]
    for mode in ([], ["--json"]):
        result = invoke(*mode, *args)
        assert result.exit_code == 0, result.output
        assert f"descent: wrote the parameters to {tmp_path / 'params.npz'}" in result.stderr
        assert f"descent: wrote the cost chart to {tmp_path / 'costs.svg'}" in result.stderr
        assert "wrote" not in result.stdout
    json.loads(result.stdout)  # with --json, stdout is the report alone


def test_the_summary_prints_the_final_cost_with_six_decimals():
    result = invoke("--epochs", "3", "-q")
    assert re.search(r"final cost \d\.\d{6}$", result.stdout.splitlines()[1])
