"""The 64-member learning-rate sweep through the service against the same stack in-process (a benchmark).

    .venv/bin/python bench/sweep_service.py [--repeat 3] [--members 64] [--epochs 10000]

`descent serve --workers 1` on an embedded Redis in a temporary folder: ``POST /experiments`` with the seed's
Adam job as ``base`` and ``grid`` {"optimizer.learning_rate": the 64 rates of ``bench/sweep.py``'s
``sweep_configs``}; timed from the POST until every member has succeeded: to the last member's
``finished_at`` (the service's clock, this machine's), once polling
``GET /experiments/{id}/costs?since=<epochs>`` every 0.25 s (the statuses and no points) has seen the end,
so the poll's own delay is not counted; and each member's accuracy checked against the in-process
stack's. The in-process baseline is
``trainer.StackedTraining`` on the same configs with one BLAS thread, as a worker runs it. They alternate,
``--repeat`` rounds; the table shows medians and their ratio. Target: the service ≤ 1.10 × in-process.
Beside wall time, the CPU seconds each side spent (in-process: this process; the service: `descent serve`
and every process under it, Redis included), which a shared, loaded machine disturbs far less.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy is imported, so BLAS starts with one thread

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
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
) -> tuple[float, float, dict[float, float]]:
    """Seconds from the POST to every member succeeded; the CPU seconds the service spent meanwhile; each
    learning rate's accuracy."""
    body = {"base": {"epochs": epochs}, "grid": {"optimizer.learning_rate": rates}}
    cpu = service.cpu_seconds()
    started = time.time()
    response = service.client.post("/experiments", json=body)
    if response.status_code != 202:
        raise SystemExit(f"POST /experiments: {response.status_code} {response.text}")
    experiment_id = response.json()["id"]
    while True:
        page = service.client.get(f"/experiments/{experiment_id}/costs", params={"since": epochs}).json()
        if page["status"] not in ("queued", "running"):
            break
        time.sleep(POLL_SECONDS)
    cpu = service.cpu_seconds() - cpu
    experiment = service.client.get(f"/experiments/{experiment_id}").json()
    table = experiment["table"]
    if any(row["status"] != "succeeded" for row in table):
        raise SystemExit(f"not every member succeeded: {[row['status'] for row in table]}")
    ends = [service.client.get(f"/jobs/{m['job_id']}").json()["finished_at"] for m in experiment["members"]]
    seconds = max(datetime.fromisoformat(end).timestamp() for end in ends) - started
    return seconds, cpu, {row["params"]["optimizer.learning_rate"]: row["accuracy"] for row in table}


def in_process(rates_configs: list, X, Y) -> tuple[float, float, list[float]]:
    """Wall and CPU seconds of the stack trained in this process; each member's accuracy."""
    cpu, started = time.process_time(), time.perf_counter()
    results = StackedTraining(X, Y, rates_configs).run()
    return time.perf_counter() - started, time.process_time() - cpu, [r.accuracy for r in results]


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
    local, remote, local_cpu, remote_cpu = [], [], [], []
    try:
        service.wait_ready()
        through_service(service, rates[:2], 2)  # warm-up: the worker's first job, the API's first requests
        for _ in range(args.repeat):
            seconds, cpu, accuracies = in_process(configs, X, Y)
            local.append(seconds)
            local_cpu.append(cpu)
            seconds, cpu, served = through_service(service, rates, args.epochs)
            remote.append(seconds)
            remote_cpu.append(cpu)
            if [served[r] for r in rates] != accuracies:
                raise SystemExit("the service's accuracies differ from the in-process stack's")
            print(
                f"round: {local[-1]:.2f} s in-process ({local_cpu[-1]:.2f} s CPU), "
                f"{remote[-1]:.2f} s through the service ({remote_cpu[-1]:.2f} s CPU)",
                file=sys.stderr,
            )
    finally:
        service.stop()
    median = statistics.median
    ratio = median(remote) / median(local)
    cpu_ratio = median(remote_cpu) / median(local_cpu)
    verdict = "ok" if ratio <= TARGET else "MISSED"
    print("| measure | runs | median s | × in-process | target | median CPU s | CPU × in-process |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    local_row = f"stacked sweep, {args.members} members, in-process | {len(local)}"
    print(f"| {local_row} | {median(local):.2f} | 1.00 | | {median(local_cpu):.2f} | 1.00 |")
    print(
        f"| the same sweep through the service (POST → every member succeeded) | {len(remote)} "
        f"| {median(remote):.2f} | {ratio:.2f} | ≤ {TARGET:g} {verdict} "
        f"| {median(remote_cpu):.2f} | {cpu_ratio:.2f} |"
    )
    print(f"\n{args.epochs} epochs; accuracies equal member by member; BLAS limited to 1 thread.")
    print(f"Load average {os.getloadavg()[0]:.2f} after.")


if __name__ == "__main__":
    main()
