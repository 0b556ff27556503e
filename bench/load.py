"""Load: 100 pollers and 20 submitters against `descent serve` while its workers train (a benchmark).

    .venv/bin/python bench/load.py [--seconds 60] [--pollers 100] [--submitters 20] [--workers 2]
                                   [--poll-interval 0.5] [--submit-interval 1.0] [--append docs/benchmarks.md]

It starts `descent serve` itself with no REDIS_URL (an embedded Redis with AOF in a temporary folder, one
uvicorn process, ``--workers`` workers, no access log), with ``DESCENT_RATE_LIMIT_JOBS_PER_MINUTE=0`` and
``DESCENT_MAX_QUEUED_JOBS=1000000`` (this measures the service, not its limits), and runs for ``--seconds``:

- each submitter POSTs a short job (moons, gd/momentum/adam, 200–500 epochs, a point every 10 epochs),
  then waits ``--submit-interval`` seconds;
- each poller follows one of the 50 newest jobs as a client would: ``GET /jobs/{id}/costs?since=N`` with
  the ``next_since`` of its last answer, then ``GET /jobs/{id}``, then waits ``--poll-interval`` seconds;
  it moves to another job once its job is finished.

Each client starts at a random moment of its first interval: independent clients are not in step (until
2026-11-30 they all started at once, and the pollers polled in bursts of 200 requests).

Each client has its own keep-alive connection (an ``aiohttp.ClientSession`` of one connection, 10 s timeout;
it was one shared ``httpx.AsyncClient``, whose pool cost more CPU than the API), all in this process. An error
is any answer but 2xx (429 and 503 included) and any transport error. It prints a Markdown table of requests,
errors, p50 and p99 latency per endpoint, and the jobs submitted and finished; ``--append`` adds it with
the command under "## Load" to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy

import aiohttp  # noqa: E402
import httpx  # noqa: E402

from bench.report import append_section, machine, percentile  # noqa: E402
from bench.serve_process import ServeProcess  # noqa: E402

OPTIMIZERS = ("gd", "momentum", "adam")
ENDPOINTS = ("POST /jobs", "GET /jobs/{id}/costs", "GET /jobs/{id}")
FINISHED = ("succeeded", "failed", "canceled")
RECENT_JOBS = 50
Session = aiohttp.ClientSession
ERRORS = (aiohttp.ClientError, TimeoutError)
"""What a request raises when it gets no answer."""


def session(url: str) -> Session:
    """One client: a keep-alive connection to ``url``, each request within 10 s (made in the running loop)."""
    return aiohttp.ClientSession(
        url, connector=aiohttp.TCPConnector(limit=1), timeout=aiohttp.ClientTimeout(total=10)
    )


@dataclass
class Stats:
    """Latencies (seconds) and error answers per endpoint, and the submitted job ids."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    jobs: list[str] = field(default_factory=list)

    async def call(
        self, client: Session, endpoint: str, method: str, target: str, body: object = None
    ) -> dict | None:
        """One request, timed; its JSON on a 2xx, else None (the error counted by status or type)."""
        started = time.perf_counter()
        try:
            async with client.request(method, target, json=body) as response:
                status, content = response.status, await response.read()
        except ERRORS as exc:
            self.latencies[endpoint].append(time.perf_counter() - started)
            self.errors[endpoint][type(exc).__name__] += 1
            return None
        self.latencies[endpoint].append(time.perf_counter() - started)
        if not 200 <= status < 300:
            self.errors[endpoint][str(status)] += 1
            return None
        return json.loads(content)


def short_job(rng: random.Random) -> dict:
    return {
        "optimizer": {"name": rng.choice(OPTIMIZERS)},
        "epochs": rng.randint(200, 500),
        "record_every": 10,
    }


async def submitter(client: Session, stats: Stats, end: float, interval: float, seed: int) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.random() * interval)  # independent clients: not all in step
    while time.monotonic() < end:
        body = await stats.call(client, "POST /jobs", "POST", "/jobs", short_job(rng))
        if body is not None:
            stats.jobs.append(body["id"])
        await asyncio.sleep(interval)


async def poller(client: Session, stats: Stats, end: float, interval: float, seed: int) -> None:
    rng = random.Random(seed)
    job_id, since = None, 0
    while not stats.jobs and time.monotonic() < end:
        await asyncio.sleep(0.05)
    await asyncio.sleep(rng.random() * interval)  # from the first job on, independent clients: not in step
    while time.monotonic() < end:
        if job_id is None:
            job_id, since = rng.choice(stats.jobs[-RECENT_JOBS:]), 0
        page = await stats.call(client, "GET /jobs/{id}/costs", "GET", f"/jobs/{job_id}/costs?since={since}")
        body = await stats.call(client, "GET /jobs/{id}", "GET", f"/jobs/{job_id}")
        if page is not None:
            since = page["next_since"]
            if page["status"] in FINISHED and not page["points"]:
                job_id = None
        elif body is None:
            job_id = None
        await asyncio.sleep(interval)


async def run_load(url: str, args: argparse.Namespace) -> Stats:
    """Every client on its own connection to ``url`` (``http://host:port``) until ``--seconds`` pass."""
    stats = Stats()
    submitters = [session(url) for _ in range(args.submitters)]
    pollers = [session(url) for _ in range(args.pollers)]
    end = time.monotonic() + args.seconds
    tasks = [submitter(c, stats, end, args.submit_interval, i) for i, c in enumerate(submitters)]
    tasks += [poller(c, stats, end, args.poll_interval, 1000 + i) for i, c in enumerate(pollers)]
    try:
        await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(client.close() for client in submitters + pollers))
    return stats


def job_counts(url: str, jobs: list[str]) -> Counter:
    """The statuses of ``jobs`` now."""
    counts: Counter = Counter()
    with httpx.Client(base_url=url, timeout=10) as client:
        for job_id in jobs:
            counts[client.get(f"/jobs/{job_id}").json()["status"]] += 1
    return counts


def table(stats: Stats, seconds: float, at_end: Counter, drained: Counter, drain_seconds: float) -> str:
    lines = [
        "| endpoint | requests | req/s | errors | p50 ms | p99 ms |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for endpoint in ENDPOINTS:
        latencies = stats.latencies[endpoint]
        errors = stats.errors[endpoint]
        detail = ", ".join(f"{n}× {kind}" for kind, n in errors.most_common())
        lines.append(
            f"| {endpoint} | {len(latencies)} | {len(latencies) / seconds:.0f} "
            f"| {sum(errors.values())}{f' ({detail})' if detail else ''} "
            f"| {1000 * percentile(latencies, 0.5):.1f} | {1000 * percentile(latencies, 0.99):.1f} |"
        )
    submitted = len(stats.jobs)
    finished_at_end = sum(at_end[s] for s in FINISHED)
    lines += [
        "",
        f"Jobs submitted: {submitted}; finished by the end of the run: {finished_at_end} "
        f"({at_end['succeeded']} succeeded, {at_end['failed']} failed); "
        f"{drained['succeeded']} succeeded {drain_seconds:.1f} s later "
        f"({drained['queued']} still queued, {drained['running']} running, {drained['failed']} failed).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pollers", type=int, default=100)
    parser.add_argument("--submitters", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--submit-interval", type=float, default=1.0)
    parser.add_argument("--drain-seconds", type=float, default=30.0, help="Wait this long for the backlog.")
    parser.add_argument("--append", type=Path, help="Append the table under '## Load' to this file.")
    args = parser.parse_args()

    service = ServeProcess(
        "--workers", str(args.workers),
        env={"DESCENT_RATE_LIMIT_JOBS_PER_MINUTE": "0", "DESCENT_MAX_QUEUED_JOBS": "1000000"},
    )  # fmt: skip
    try:
        service.wait_ready()
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        stats = asyncio.run(run_load(service.url, args))
        seconds = time.monotonic() - started
        at_end = job_counts(service.url, stats.jobs)
        drain_started = time.monotonic()
        drained = at_end
        backlog = lambda counts: counts["queued"] + counts["running"]  # noqa: E731
        while time.monotonic() - drain_started < args.drain_seconds and backlog(drained):
            time.sleep(1)
            drained = job_counts(service.url, stats.jobs)
        drain_seconds = time.monotonic() - drain_started
    finally:
        service.stop()

    command = " ".join(sys.argv[1:])
    header = (
        f"{machine()}; `descent serve` "
        f"with {args.workers} workers, 1 API process, embedded Redis; {args.pollers} pollers (every "
        f"{args.poll_interval:g} s) and {args.submitters} submitters (every {args.submit_interval:g} s) for "
        f"{seconds:.0f} s, each on its own connection (aiohttp) in the benchmark process; load "
        f"average {load_before:.1f} before the run; {datetime.now():%Y-%m-%d}."
    )
    output = f"{header}\n\n{table(stats, seconds, at_end, drained, drain_seconds)}"
    print(output)
    if args.append:
        append_section(args.append, "Load", "load.py", command, output)


if __name__ == "__main__":
    main()
