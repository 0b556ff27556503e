"""The 64-member learning-rate sweep through the service against the same stack in-process (a benchmark).

    .venv/bin/python bench/sweep_service.py [--repeat 3] [--members 64] [--epochs 10000]

`descent serve --workers 1` on an embedded Redis in a temporary folder: ``POST /experiments`` with the seed's
Adam job as ``base`` and ``grid`` {"optimizer.learning_rate": the 64 rates of ``bench/sweep.py``'s
``sweep_configs``}; timed from the POST until every member has succeeded (polling
``GET /experiments/{id}/costs?since=<epochs>`` every 0.25 s, which carries the statuses and no points), and
each member's accuracy checked against the in-process stack's. The in-process baseline is
``trainer.StackedTraining`` on the same configs with one BLAS thread, as a worker runs it. They alternate,
``--repeat`` rounds; the table shows medians and their ratio. Target: the service ≤ 1.10 × in-process.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy is imported, so BLAS starts with one thread

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy

from bench.serve_process import ServeProcess  # noqa: E402
from bench.sweep import sweep_configs  # noqa: E402
from bench.trainer_speed import machine  # noqa: E402
from trainer import StackedTraining, load_builtin  # noqa: E402

TARGET = 1.10
POLL_SECONDS = 0.25


def through_service(
    service: ServeProcess, rates: list[float], epochs: int
) -> tuple[float, dict[float, float]]:
    """Seconds from the POST to every member succeeded; each learning rate's accuracy."""
    body = {"base": {"epochs": epochs}, "grid": {"optimizer.learning_rate": rates}}
    started = time.perf_counter()
    response = service.client.post("/experiments", json=body)
    if response.status_code != 202:
        raise SystemExit(f"POST /experiments: {response.status_code} {response.text}")
    experiment_id = response.json()["id"]
    while True:
        page = service.client.get(f"/experiments/{experiment_id}/costs", params={"since": epochs}).json()
        if page["status"] not in ("queued", "running"):
            break
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - started
    table = service.client.get(f"/experiments/{experiment_id}").json()["table"]
    if any(row["status"] != "succeeded" for row in table):
        raise SystemExit(f"not every member succeeded: {[row['status'] for row in table]}")
    return seconds, {row["params"]["optimizer.learning_rate"]: row["accuracy"] for row in table}


def in_process(rates_configs: list, X, Y) -> tuple[float, list[float]]:
    started = time.perf_counter()
    results = StackedTraining(X, Y, rates_configs).run()
    return time.perf_counter() - started, [r.accuracy for r in results]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the medians are shown")
    parser.add_argument("--members", type=int, default=64, help="learning rates in the sweep")
    parser.add_argument("--epochs", type=int, default=10000)
    args = parser.parse_args(argv)
    configs = sweep_configs(args.members, args.epochs)
    rates = [c.optimizer.learning_rate for c in configs]
    X, Y = load_builtin("moons")
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.2f} before\n")
    service = ServeProcess("--workers", "1", env={"DESCENT_RATE_LIMIT_JOBS_PER_MINUTE": "0"})
    local, remote = [], []
    try:
        service.wait_ready()
        through_service(service, rates[:2], 2)  # warm-up: the worker's first job, the API's first requests
        for _ in range(args.repeat):
            seconds, accuracies = in_process(configs, X, Y)
            local.append(seconds)
            seconds, served = through_service(service, rates, args.epochs)
            remote.append(seconds)
            if [served[r] for r in rates] != accuracies:
                raise SystemExit("the service's accuracies differ from the in-process stack's")
            print(
                f"round: {local[-1]:.2f} s in-process, {remote[-1]:.2f} s through the service",
                file=sys.stderr,
            )
    finally:
        service.stop()
    ratio = statistics.median(remote) / statistics.median(local)
    verdict = "ok" if ratio <= TARGET else "MISSED"
    print("| measure | runs | median s | × in-process | target |")
    print("|---|--:|--:|--:|--:|")
    local_row = f"stacked sweep, {args.members} members, in-process | {len(local)}"
    print(f"| {local_row} | {statistics.median(local):.2f} | 1.00 | |")
    print(
        f"| the same sweep through the service (POST → every member succeeded) | {len(remote)} "
        f"| {statistics.median(remote):.2f} | {ratio:.2f} | ≤ {TARGET:g} {verdict} |"
    )
    print(f"\n{args.epochs} epochs; accuracies equal member by member; BLAS limited to 1 thread.")


if __name__ == "__main__":
    main()
