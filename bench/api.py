"""The polling path against FastAPI itself: each poll's throughput over a bare endpoint's (a benchmark).

    .venv/bin/python bench/api.py [--seconds 5] [--rounds 3] [--connections 50] [--workers 2]
                                  [--append docs/benchmarks.md]

It starts what `descent serve --workers 2 --no-access-log` starts, with no REDIS_URL: an embedded Redis in
a temporary folder, one uvicorn process with the same command line (``descent.serve_command.api_command``:
uvloop, httptools, the metrics' multiprocess folder) and ``descent worker --processes 2``. The one
difference is the app: ``bench.api_app`` is descent's own plus ``GET /bench/bare``, a plain FastAPI ``def``
returning a 10-point JSON body, the baseline, served by the same process in the same run.

Stored first: one finished job of 101 cost points (gd, 10000 epochs, a point every 100) and 19 short
finished jobs, 20 in all. Then two phases, idle (the workers wait) and training (before each measurement
it makes sure ``--workers`` long jobs train, 150000 epochs of gd each, and cancels them at the end). The
paths: the bare endpoint, ``/healthz``, ``GET /jobs/{id}`` and ``GET /jobs/{id}/costs?since=0`` of the
101-point job, and ``GET /jobs?limit=20`` (while training, its 20 newest jobs include the training ones).
Each phase is ``--rounds`` rounds of: bare, then each other path followed by bare again (reversed every
other round), each run ``wrk -t1 -c<connections> -d<seconds>`` (one thread: the server has the other core).

The machine is shared and its load swings within seconds, so each run is compared with the bare runs just
before and after it: its ratio is its req/s over their mean. A row shows the median over the rounds of
req/s, of wrk's mean latency, of that ratio, and of the API process's CPU time (user + system) per request
and its ratio (bare's CPU per request over the path's: the cost of a request, less sensitive to the other
processes than its rate). Targets, on the req/s ratio: ``GET /jobs/{id}`` and its costs ≥ 0.7× bare, the
listing ≥ 0.5×. Without wrk on the PATH (Debian: ``apt-get install wrk``) it falls back to a small asyncio
HTTP/1.1 load generator in this process, and says so; that one shares the cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench.api_app import BARE_PATH  # noqa: E402
from bench.load import ERRORS, session  # noqa: E402
from bench.report import append_section, machine  # noqa: E402
from descent.embedded_redis import free_port, start_redis, stop_process  # noqa: E402
from descent.serve_command import api_command  # noqa: E402

POINTS_JOB = {"optimizer": {"name": "gd"}, "epochs": 10000, "record_every": 100}  # 101 points
SHORT_JOBS = [{"optimizer": {"name": name}, "epochs": 50} for name in ("gd", "momentum", "adam")]
STORED = 20
TRAINING_JOB = {"optimizer": {"name": "gd"}, "epochs": 150_000, "record_every": 100}
TARGETS = {"job": 0.7, "costs": 0.7, "list": 0.5}
FINISHED = ("succeeded", "failed", "canceled")


class Stack:
    """An embedded Redis, the bench app in one uvicorn process, and a pool of workers."""

    def __init__(self, workers: int) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="descent-bench-api-")
        folder = Path(self.folder.name)
        self.redis, redis_url = start_redis(folder / "redis")
        (folder / "metrics").mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DESCENT_REDIS_URL", "API_KEYS")}
        env |= {
            "REDIS_URL": redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
            "DESCENT_RATE_LIMIT_JOBS_PER_MINUTE": "0",
            "DESCENT_MAX_QUEUED_JOBS": "1000000",
            "PYTHONPATH": str(ROOT),
        }
        self.log = open(folder / "stack.log", "wb")  # noqa: SIM115 (closed in stop)
        command = api_command("127.0.0.1", self.port, 1, False, [], app="bench.api_app:create_app")
        pool = [sys.executable, "-m", "descent", "worker", "--processes", str(workers)]
        self.processes = [
            subprocess.Popen(
                c, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
            )
            for c in (command, pool)
        ]
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self, workers: int, timeout: float = 90) -> None:
        """Return once /readyz counts ``workers`` workers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ready = self.client.get("/readyz")
                if ready.status_code == 200 and ready.json()["workers"] >= workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the stack was not ready within {timeout} s; see {self.log.name}")

    def submit(self, spec: dict) -> str:
        response = self.client.post("/jobs", json=spec)
        response.raise_for_status()
        return response.json()["id"]

    def status(self, job_id: str) -> str:
        return self.client.get(f"/jobs/{job_id}").json()["status"]

    def wait(self, job_ids: list[str], statuses: tuple[str, ...], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while any(self.status(job_id) not in statuses for job_id in job_ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs not {statuses} within {timeout} s")
            time.sleep(0.2)

    def stop(self) -> None:
        self.client.close()
        api, pool = self.processes
        api.send_signal(signal.SIGINT)
        for process in (api, pool):
            stop_process(process, 15)  # SIGTERM, then SIGKILL to what is left of its process group
        stop_process(self.redis, 10)
        self.log.close()
        self.folder.cleanup()


class Trainer:
    """Keeps ``workers`` long jobs training during the training phase."""

    def __init__(self, stack: Stack, workers: int) -> None:
        self.stack, self.workers, self.jobs = stack, workers, []

    def ensure(self) -> None:
        """At least ``workers`` training jobs running (submitting more as earlier ones finish)."""
        live = [job for job in self.jobs if self.stack.status(job) not in FINISHED]
        for _ in range(self.workers - len(live)):
            live.append(self.stack.submit(TRAINING_JOB))
        self.jobs = live + [job for job in self.jobs if job not in live]
        self.stack.wait(live, ("running", *FINISHED), timeout=60)

    def cancel(self) -> None:
        for job in self.jobs:
            self.stack.client.delete(f"/jobs/{job}")


@dataclass
class Run:
    rps: float
    mean_ms: float
    errors: int
    cpu_us: float = 0.0
    """The API process's CPU time (user + system) per request during the run."""


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, connections: int) -> Run:
    """One ``wrk -t1`` run (one thread: the server has the other core)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)\b", out).groups()
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Run(rps, float(value) * UNITS[unit], errors + (int(non_2xx.group(1)) if non_2xx else 0))


async def _client(port: int, target: str, until: float, latencies: list[float], errors: list[int]) -> None:
    async with session(f"http://127.0.0.1:{port}") as client:
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                async with client.get(target) as response:
                    await response.read()
                    status = response.status
            except ERRORS:
                status = 0
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                errors.append(status)


def python_load(url: str, seconds: float, connections: int) -> Run:
    """The fallback: ``connections`` keep-alive asyncio clients in this process."""
    port = int(url.split(":")[2].split("/")[0])
    target = "/" + url.split("/", 3)[3]
    latencies: list[float] = []
    errors: list[int] = []

    async def load() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, target, until, latencies, errors) for _ in range(connections)))

    started = time.perf_counter()
    asyncio.run(load())
    elapsed = time.perf_counter() - started
    return Run(len(latencies) / elapsed, 1000 * statistics.fmean(latencies), len(errors))


def phase(stack: Stack, paths: dict[str, str], args: argparse.Namespace, load, trainer: Trainer | None):
    """``--rounds`` rounds of: bare, then each other path followed by bare again (the order of the others
    reversed every other round). Per path its runs, its ratios to the mean of the two bare runs around
    each of its runs (req/s, and the API's CPU time per request the other way round), and its CPU times."""
    api = psutil.Process(stack.processes[0].pid)
    runs: dict[str, list[Run]] = {name: [] for name in paths}
    ratios: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}

    def measure(name: str) -> Run:
        if trainer is not None:
            trainer.ensure()
        cpu = sum(api.cpu_times()[:2])
        run = load(stack.url + paths[name], args.seconds, args.connections)
        run.cpu_us = 1e6 * (sum(api.cpu_times()[:2]) - cpu) / max(1, run.rps * args.seconds)
        runs[name].append(run)
        return run

    for path in paths.values():  # warm-up
        load(stack.url + path, 1, args.connections)
    others = [name for name in paths if name != "bare"]
    for round_ in range(args.rounds):
        before = measure("bare")
        for name in others if round_ % 2 == 0 else reversed(others):
            run = measure(name)
            after = measure("bare")
            rps, cpu = (before.rps + after.rps) / 2, (before.cpu_us + after.cpu_us) / 2
            ratios[name].append((run.rps / rps, cpu / run.cpu_us))
            before = after
    ratios["bare"] = [(1.0, 1.0)]
    return runs, ratios


LABELS = {
    "bare": "bare FastAPI `def` endpoint, 10-point JSON body",
    "healthz": "`GET /healthz`",
    "job": "`GET /jobs/{id}`",
    "costs": "`GET /jobs/{id}/costs?since=0` (101 points)",
    "list": "`GET /jobs?limit=20` (20 jobs)",
}


def table(results: dict[str, tuple[dict, dict]]) -> str:
    lines = [
        "| phase | path | req/s | mean latency | × bare | target | API CPU/request | × bare (CPU) | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for phase_name, (runs, ratios) in results.items():
        for name, label in LABELS.items():
            rps = statistics.median(run.rps for run in runs[name])
            latency = statistics.median(run.mean_ms for run in runs[name])
            cpu = statistics.median(run.cpu_us for run in runs[name])
            ratio = statistics.median(r for r, _ in ratios[name])
            cpu_ratio = statistics.median(c for _, c in ratios[name])
            target = TARGETS.get(name)
            met = "" if target is None else f"≥ {target} {'ok' if ratio >= target else 'MISSED'}"
            errors = sum(run.errors for run in runs[name])
            lines.append(
                f"| {phase_name} | {label} | {rps:,.0f} | {latency:.1f} ms | {ratio:.2f} | {met} "
                f"| {cpu:.0f} µs | {cpu_ratio:.2f} | {errors} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=int, default=5, help="Each run's length (whole seconds, as wrk takes)."
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--append", type=Path, help="Append the table under '## Polling' to this file.")
    args = parser.parse_args()

    if shutil.which("wrk"):
        load = wrk
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()
        generator = f"{version} (`-t1 -c{args.connections}`)"
    else:
        load = python_load
        generator = (
            f"the in-Python asyncio load generator ({args.connections} connections): wrk was not found"
        )
        print(f"wrk is not on the PATH: using {generator.split(':')[0]}", file=sys.stderr)

    stack = Stack(args.workers)
    results: dict[str, tuple[dict, dict]] = {}
    loads: list[float] = []
    try:
        stack.wait_ready(args.workers)
        job_id = stack.submit(POINTS_JOB)
        others = [stack.submit(SHORT_JOBS[i % len(SHORT_JOBS)]) for i in range(STORED - 1)]
        stack.wait([job_id, *others], ("succeeded",))
        paths = {
            "bare": BARE_PATH,
            "healthz": "/healthz",
            "job": f"/jobs/{job_id}",
            "costs": f"/jobs/{job_id}/costs?since=0",
            "list": "/jobs?limit=20",
        }
        assert len(stack.client.get(paths["costs"]).json()["points"]) == 101
        loads.append(os.getloadavg()[0])
        results["idle"] = phase(stack, paths, args, load, None)
        loads.append(os.getloadavg()[0])
        trainer = Trainer(stack, args.workers)
        try:
            results["training"] = phase(stack, paths, args, load, trainer)
        finally:
            trainer.cancel()
        loads.append(os.getloadavg()[0])
    finally:
        stack.stop()

    header = (
        f"{machine()}; one uvicorn "
        f"process as `descent serve` runs it, {args.workers} workers, embedded Redis; {generator}, "
        f"{args.seconds:g} s per run, median of {args.rounds} rounds; load average "
        f"{' → '.join(f'{x:.1f}' for x in loads)} (before idle, before training, after); "
        f"{datetime.now():%Y-%m-%d %H:%M}."
    )
    output = f"{header}\n\n{table(results)}"
    print(output)
    if args.append:
        append_section(args.append, "Polling", "api.py", " ".join(sys.argv[1:]), output)


if __name__ == "__main__":
    main()
