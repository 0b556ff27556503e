"""Service speed, end to end through `descent serve` (a benchmark, not a test).

    .venv/bin/python bench/service.py [--repeat 3] [--jobs 50] [--clients 50] [--seconds 5]
                                      [--api-processes 1] [--append docs/benchmarks.md]

It starts `descent serve` itself with no REDIS_URL (an embedded Redis in a temporary folder, the API and
one worker per core, no access log) and measures:

- the seed's Adam job (moons, 10000 epochs) end to end through the service: from just before the POST
  to the job's ``finished_at`` (the client polls ``GET /jobs/{id}`` every 0.25 s, so the poll interval
  does not count), against the same run with the trainer called directly in this process (data
  generation included on both sides, one BLAS thread); median of ``--repeat`` each. Target <= 1.10x.
  On 2 cores, a client polling every 20 ms instead adds ~8 %: the API and Redis answering it share the
  cores with the training worker.
- POST → running: ``started_at`` minus the moment before the POST, over ``--jobs`` small jobs (50
  epochs) posted one after another to an idle worker. Target p50 <= 50 ms.
- ``GET /jobs/{id}/costs?since=N`` with ``--clients`` concurrent keep-alive clients for ``--seconds``
  while a long job trains; each client passes the ``next_since`` of its last answer, as a poller does.
  Requests per second and p99 latency. Target >= 1000 req/s. The clients are a small asyncio HTTP/1.1
  loop (not httpx) so that the load generator, which shares the machine, costs as little as possible.

It prints a Markdown table; ``--append`` adds it with the command under "## Service" to a file.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy is imported: the workers run with one BLAS thread too

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy


from bench.report import machine, percentile  # noqa: E402
from bench.serve_process import ServeProcess  # noqa: E402
from trainer import TrainConfig, load_builtin, train  # noqa: E402

SEED_ADAM = {"optimizer": {"name": "adam"}}
LONG_JOB = {"optimizer": {"name": "adam"}, "epochs": 150_000}
SMALL_JOB = {"optimizer": {"name": "gd"}, "epochs": 50}
RATIO_TARGET, LATENCY_TARGET_MS, THROUGHPUT_TARGET = 1.10, 50.0, 1000.0


class Service(ServeProcess):
    """The benchmark's `descent serve`, with the two calls it makes of it."""

    def submit(self, spec: dict) -> str:
        response = self.client.post("/jobs", json=spec)
        response.raise_for_status()
        return response.json()["id"]

    def wait(self, job_id: str, statuses: tuple[str, ...], timeout: float = 300, poll: float = 0.02) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.client.get(f"/jobs/{job_id}").json()
            if body["status"] in statuses:
                return body
            time.sleep(poll)
        raise SystemExit(f"job {job_id} was not {statuses} within {timeout} s")


def unix(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def end_to_end_vs_direct(service: Service, repeat: int) -> tuple[float, float]:
    """Medians (seconds) of the seed's Adam job through the service and called directly, alternating."""
    through, direct = [], []
    for _ in range(repeat):
        posted = time.time()
        job_id = service.submit(SEED_ADAM)
        body = service.wait(job_id, ("succeeded", "failed", "canceled"), poll=0.25)  # timed by finished_at
        assert body["status"] == "succeeded" and round(body["result"]["accuracy"], 4) == 0.94, body
        through.append(unix(body["finished_at"]) - posted)
        started = time.perf_counter()
        result = train(*load_builtin("moons"), TrainConfig())
        direct.append(time.perf_counter() - started)
        assert round(result.accuracy, 4) == 0.94
    return statistics.median(through), statistics.median(direct)


def post_to_running(service: Service, jobs: int) -> list[float]:
    """Milliseconds from just before each POST to its ``started_at``; each job finishes before the next."""
    latencies = []
    for _ in range(jobs):
        posted = time.time()
        job_id = service.submit(SMALL_JOB)
        body = service.wait(job_id, ("succeeded",), timeout=30, poll=0.005)
        latencies.append((unix(body["started_at"]) - posted) * 1000)
    return latencies


async def _poll_costs(
    port: int, job_id: str, until: float, latencies: list[float], errors: list[int]
) -> None:
    """One keep-alive client: GET /jobs/{id}/costs?since=<its last next_since> until ``until``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    since = 0
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            request = f"GET /jobs/{job_id}/costs?since={since} HTTP/1.1\r\nHost: bench\r\n\r\n"
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if head[9:12] != b"200":
                errors.append(int(head[9:12]))
                continue
            since = json.loads(body)["next_since"]
    finally:
        writer.close()


async def _load(port: int, job_id: str, clients: int, seconds: float) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(_poll_costs(port, job_id, until, latencies, errors) for _ in range(clients)))
    return latencies, errors


def costs_throughput(service: Service, clients: int, seconds: float) -> tuple[float, float, int, str]:
    """(requests/s, p99 ms, errors, the job's status after) with ``clients`` pollers while a job trains."""
    job_id = service.submit(LONG_JOB)
    service.wait(job_id, ("running",), timeout=30)
    started = time.perf_counter()
    latencies, errors = asyncio.run(_load(service.port, job_id, clients, seconds))
    elapsed = time.perf_counter() - started
    status = service.client.get(f"/jobs/{job_id}").json()["status"]
    service.client.delete(f"/jobs/{job_id}")
    return len(latencies) / elapsed, percentile(latencies, 0.99) * 1000, len(errors), status


def table(
    args: argparse.Namespace,
    ratio: tuple[float, float],
    latencies: list[float],
    load: tuple[float, float, int, str],
) -> str:
    """The Markdown table of the three measures against their targets."""
    through, direct = ratio
    rate, p99, errors, status = load
    assert status == "running", f"the job should still be training during the load, it was {status}"
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    return "\n".join(
        [
            "| measure | value | target | met |",
            "|---|---|---|---|",
            f"| seed Adam job through the service, POST → succeeded (median of {args.repeat}) "
            f"| {through:.3f} s | | |",
            f"| the same run, trainer called directly (median of {args.repeat}) | {direct:.3f} s | | |",
            f"| ratio service / direct | {through / direct:.3f} | ≤ {RATIO_TARGET:.2f} "
            f"| {met(through / direct <= RATIO_TARGET)} |",
            f"| POST → running, p50 ({len(latencies)} jobs, idle worker) | {p50:.1f} ms "
            f"| ≤ {LATENCY_TARGET_MS:.0f} ms | {met(p50 <= LATENCY_TARGET_MS)} |",
            f"| POST → running, p95 | {p95:.1f} ms | | |",
            f"| GET /jobs/{{id}}/costs, {args.clients} concurrent clients for {args.seconds:g} s "
            f"while a job trains | {rate:.0f} req/s | ≥ {THROUGHPUT_TARGET:.0f} req/s "
            f"| {met(rate >= THROUGHPUT_TARGET)} |",
            f"| GET /jobs/{{id}}/costs, p99 latency | {p99:.1f} ms | | |",
            f"| errors (non-200 answers) during that load | {errors} | 0 | {met(errors == 0)} |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--api-processes", type=int, default=1, help="as `descent serve --api-processes`")
    parser.add_argument("--append", type=Path, help="append the table under '## Service' to this file")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    # it posts ~55 jobs a minute: no submission limit, this measures speed
    service = Service(
        "--api-processes", str(args.api_processes), env={"DESCENT_RATE_LIMIT_JOBS_PER_MINUTE": "0"}
    )
    try:
        service.wait_ready()
        service.wait(service.submit(SMALL_JOB), ("succeeded",))  # warm up: imports, connections
        ratio = end_to_end_vs_direct(service, args.repeat)
        latencies = post_to_running(service, args.jobs)
        load = costs_throughput(service, args.clients, args.seconds)
    finally:
        service.stop()
    http = (
        ", ".join(name for name in ("uvloop", "httptools") if importlib.util.find_spec(name))
        or "asyncio, h11"
    )
    command = "`.venv/bin/python bench/service.py " + " ".join(sys.argv[1:]) + "`"
    report = (
        f"{command}\n\n{machine()}; `descent serve` with {os.cpu_count()} workers and {args.api_processes} "
        f"API process(es) on uvicorn ({http}), embedded Redis; load average {load_before:.1f} before the "
        f"run (the machine is shared).\n\n{table(args, ratio, latencies, load)}\n"
    )
    print(report)
    if args.append:
        with open(args.append, "a") as out:
            out.write(f"\n## Service\n\n{report}")


if __name__ == "__main__":
    main()
