"""Charting a long history: GET /jobs/{id}/costs?max_points=N on a 100,000-point job against a 100-point
one (a benchmark).

    .venv/bin/python bench/curve.py [--points 100000] [--max-points 1000] [--requests 30] [--repeat 5]
                                    [--append docs/benchmarks.md]

It starts a redis-server and `descent serve --workers 0` on it, submits two jobs through the API and writes
their histories as a worker does (``JobStore.append_costs``, 1,000 points per write, so the packed curve
levels are what a worker leaves): 100 points, and ``--points`` points (one per epoch). Each figure is the
median time of ``--requests`` sequential requests over one keep-alive connection, median of ``--repeat``
rounds. One row asks the long job for 100 points, the answer size of the short job. The last row reads the
whole long history without downsampling (``?since=`` pages of 10,000), what a chart needed before.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from bench.serve_process import ServeProcess  # noqa: E402
from core.config import Settings  # noqa: E402
from core.store import JobStore, connect  # noqa: E402
from descent.embedded_redis import start_redis, stop_process  # noqa: E402


def history(store: JobStore, job_id: str, n: int) -> None:
    """A noisy decreasing curve of ``n`` points, written 1,000 at a time as a worker flushes."""
    rng = np.random.default_rng(0)
    costs = np.exp(-np.arange(n) / (n / 5)) + rng.normal(0, 0.01, n)
    points = [(epoch, float(cost)) for epoch, cost in zip(range(1, n + 1), costs, strict=True)]
    for start in range(0, n, 1000):
        store.append_costs(job_id, points[start : start + 1000], epoch=min(start + 1000, n))


def wait_healthy(client: httpx.Client, timeout: float = 60) -> None:
    """Return once /healthz answers (no worker runs, so /readyz never would)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"descent serve did not answer within {timeout} s")


def timed(client: httpx.Client, requests: int, *calls: tuple[str, dict]) -> float:
    """Median seconds of ``requests`` rounds of the ``calls`` (path, params), each answer 200."""
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        for path, params in calls:
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(args: argparse.Namespace) -> str:
    folder = tempfile.TemporaryDirectory(prefix="descent-bench-curve-")
    redis_process, url = start_redis(Path(folder.name, "redis"))
    serve = ServeProcess("--workers", "0", env={"REDIS_URL": url})
    store = JobStore(connect(url), Settings(_env_file=None, REDIS_URL=url))
    try:
        client = serve.client
        wait_healthy(client)
        short = client.post("/jobs", json={"epochs": 100, "record_every": 1}).json()["id"]
        long = client.post("/jobs", json={"epochs": args.points, "record_every": 1}).json()["id"]
        history(store, short, 100)
        history(store, long, args.points)
        chart = {"max_points": args.max_points}
        pages = [
            (f"/jobs/{long}/costs", {"since": s, "limit": 10_000}) for s in range(0, args.points, 10_000)
        ]
        small = {"max_points": 100}  # the long job's chart in as many points as the short job has
        rounds: dict[str, list[float]] = {"short": [], "long": [], "small": [], "whole": []}
        for _ in range(args.repeat):
            rounds["short"].append(timed(client, args.requests, (f"/jobs/{short}/costs", chart)))
            rounds["long"].append(timed(client, args.requests, (f"/jobs/{long}/costs", chart)))
            rounds["small"].append(timed(client, args.requests, (f"/jobs/{long}/costs", small)))
            rounds["whole"].append(timed(client, max(1, args.requests // 10), *pages))
        points = len(client.get(f"/jobs/{long}/costs", params=chart).json()["points"])
    finally:
        store.redis.close()
        serve.stop()
        stop_process(redis_process)
        folder.cleanup()
    short_ms, long_ms, small_ms, whole_ms = (statistics.median(rounds[k]) * 1e3 for k in rounds)
    return "\n".join(
        [
            f"`GET /jobs/{{id}}/costs?max_points={args.max_points}` over HTTP (uvicorn, one keep-alive "
            f"connection), median of {args.repeat} × {args.requests} requests ({datetime.now():%Y-%m-%d}):",
            "",
            "| history | points answered | time | vs the 100-point job |",
            "|---|---:|---:|---:|",
            f"| 100 points | 100 | {short_ms:.2f} ms | 1.00× |",
            f"| {args.points:,} points | {points} | {long_ms:.2f} ms | {long_ms / short_ms:.2f}× |",
            f"| {args.points:,} points, `max_points=100` | ≤ 100 | {small_ms:.2f} ms "
            f"| {small_ms / short_ms:.2f}× |",
            f"| {args.points:,} points, every page of `?since=` | {args.points:,} | {whole_ms:.0f} ms "
            f"| {whole_ms / short_ms:.0f}× |",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--max-points", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--append", type=Path, help="Add the table to this file under '## Charting'.")
    arguments = parser.parse_args()
    table = main(arguments)
    print(table)
    if arguments.append:
        command = "python bench/curve.py " + " ".join(sys.argv[1:])
        with arguments.append.open("a") as out:
            out.write(f"\n## Charting a long history\n\n`{command}`\n\n{table}\n")
