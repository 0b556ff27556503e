"""`descent submit`, `watch`, `jobs`, `cancel` and `model` against the real service: flags and spec files,
an uploaded data file, the result after a progress bar, the model file, API keys from the environment,
and exit statuses (0 succeeded, 1 not succeeded or unreachable, 2 refused input)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from descent.cli import app
from descent.client import DescentClient
from tests.e2e.conftest import API_KEYS
from tests.e2e.helpers import wait_for
from tests.servers import free_port
from trainer import load_builtin

pytestmark = pytest.mark.e2e

FLAGS = ["--optimizer", "momentum", "--learning-rate", "0.01", "--epochs", "300", "--record-every", "50"]


@pytest.fixture
def cli(api_url: str, workers: list) -> CliRunner:
    """A runner whose environment points the CLI at the e2e server."""
    return CliRunner(env={"DESCENT_URL": api_url, "DESCENT_API_KEY": ""})


def run(cli: CliRunner, *args: str, code: int = 0, **env: str):
    result = cli.invoke(app, list(args), env=env or None)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def test_submit_with_flags_and_watch(cli: CliRunner, api_url: str) -> None:
    result = run(cli, "submit", *FLAGS, "--layers", "4,3", "--watch")
    job_id, status = result.stdout.split(":")[0].split()
    assert status == "succeeded" and "training accuracy" in result.stdout
    assert "300/300" in result.stderr  # the progress bar
    with DescentClient(api_url) as client:
        job = client.job(job_id)
    assert job.spec.optimizer.model_dump() == {"name": "momentum", "learning_rate": 0.01, "beta": 0.9}
    assert job.spec.layers == [4, 3] and job.spec.record_every == 50
    assert f"{job.result.accuracy:.4f}" in result.stdout


def test_submit_a_spec_file_then_watch_jobs_and_model(cli: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"optimizer": {"name": "adam", "learning_rate": 0.01}, "epochs": 200}))
    submitted = json.loads(run(cli, "submit", str(spec), "--json").stdout)
    assert submitted["status"] == "queued" and submitted["spec"]["epochs"] == 200
    finished = json.loads(run(cli, "watch", submitted["id"], "--json").stdout)
    assert finished["status"] == "succeeded" and finished["progress"] == {"epoch": 200, "epochs": 200}

    listing = run(cli, "jobs", "--status", "succeeded").stdout
    assert submitted["id"] in listing and "200/200" in listing
    page = json.loads(run(cli, "jobs", "--json", "--limit", "100").stdout)
    assert submitted["id"] in [job["id"] for job in page["items"]]

    output = tmp_path / "model.npz"
    assert "saved to" in run(cli, "model", submitted["id"], "--output", str(output)).stdout
    as_json = json.loads(run(cli, "model", submitted["id"]).stdout)
    with np.load(output, allow_pickle=False) as arrays:
        np.testing.assert_array_equal(arrays["W1"], np.array(as_json["parameters"]["W1"]))

    refused = run(cli, "submit", str(spec), "--epochs", "5", code=2)
    assert "spec file or flags, not both" in refused.stderr


def test_submit_uploads_a_data_file(cli: CliRunner, api_url: str, tmp_path: Path) -> None:
    X, Y = load_builtin("blobs", n_samples=80, seed=2)
    data = tmp_path / "blobs.csv"
    data.write_text("".join(f"{a},{b},{int(y)}\n" for a, b, y in zip(X[0], X[1], Y[0], strict=True)))
    result = run(
        cli, "submit", "--dataset", str(data), "--epochs", "100", "--mini-batch-size", "full", "--watch"
    )
    assert "uploaded" in result.stderr and "succeeded" in result.stdout
    with DescentClient(api_url) as client:
        job = client.job(result.stdout.split()[0])
        dataset = client.dataset(job.spec.dataset.id)
    assert (dataset.filename, dataset.n_examples, job.spec.mini_batch_size) == ("blobs.csv", 80, "full")


def test_cancel_then_watch_exits_1(cli: CliRunner, api_url: str) -> None:
    job_id = run(cli, "submit", "--epochs", "150000").stdout.split()[0]
    with DescentClient(api_url) as client:
        wait_for(lambda: client.job(job_id).status == "running", 30, "the job to run")
    assert run(cli, "cancel", job_id).stdout.startswith(job_id)
    result = run(cli, "watch", job_id, code=1)
    assert f"{job_id} canceled" in result.stdout


def test_refused_input_exits_2_naming_the_field(cli: CliRunner) -> None:
    result = run(cli, "submit", "--layers", "5000", code=2)
    assert "the server refused the request: 422" in result.stderr and "layers.0: width 5000" in result.stderr
    assert "404 Not Found" in run(cli, "watch", "0" * 32, code=1).stderr


def test_api_keys_from_the_environment(cli: CliRunner, keyed_api_url: str) -> None:
    refused = run(cli, "jobs", code=1, DESCENT_URL=keyed_api_url)
    assert "401 Unauthorized: an API key is required" in refused.stderr
    job_id = run(
        cli, "submit", *FLAGS, DESCENT_URL=keyed_api_url, DESCENT_API_KEY=API_KEYS[0]
    ).stdout.split()[0]
    mine = run(cli, "jobs", "--url", keyed_api_url, "--api-key", API_KEYS[0]).stdout
    theirs = run(cli, "jobs", "--url", keyed_api_url, "--api-key", API_KEYS[1]).stdout
    assert job_id in mine and job_id not in theirs
    run(cli, "watch", job_id, DESCENT_URL=keyed_api_url, DESCENT_API_KEY=API_KEYS[0])


def test_an_unreachable_server_exits_1(cli: CliRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert f"cannot reach the server at {url}" in run(cli, "jobs", "--url", url, code=1).stderr
