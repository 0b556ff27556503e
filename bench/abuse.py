"""Abuse: 10 hostile clients against `descent serve` while 50 normal clients poll costs and submit jobs.

    .venv/bin/python bench/abuse.py [--seconds 60] [--normal 50] [--hostile 10] [--workers 2]
                                    [--poll-interval 1.0] [--max-refusals N] [--append docs/benchmarks.md]

It starts `descent serve` itself (an embedded Redis in a temporary folder, one uvicorn process,
``--workers`` workers, the default caps) with two API keys, one for the normal clients and one for the
hostile ones, ``DESCENT_RATE_LIMIT_JOBS_PER_MINUTE=0`` (the normal clients together submit more than 60
jobs a minute) and ``DESCENT_RATE_LIMIT_UPLOADS_PER_MINUTE=0`` (every hostile upload reaches a parser:
the worst case; the default of 10 a minute would answer most of them 429 at once). The refusal limit
(``max_refusals_per_minute``, ``service.refusals``) keeps its default unless ``--max-refusals`` is
given (0: off, every hostile request reaches the routes). Then, in one
invocation, two phases of ``--seconds`` each on the same service:

1. **baseline**: the normal clients alone;
2. **abuse**: the normal clients again, and ``--hostile`` clients sending, round robin and without pause:
   the 20000 × 20000 zip bomb, the 340 KB ``.npz`` of 20M zeros, a ``.npy`` header claiming (10⁶, 10⁶),
   a 20 MB CSV line of 10M values, 40 MB of 10M short CSV lines, a CSV at the values cap (5M numbers,
   15 MB, accepted and stored until the hostile key's quota is full), a 32 MB predict body, 32 MB of
   inline data, and jobs over the caps (epochs × examples, parameters, width).

Each normal client submits a small job (moons, 200–500 epochs), polls ``GET /jobs/{id}/costs?since=N``
every ``--poll-interval`` seconds until it has finished, then ``GET /jobs/{id}`` as often, and submits
the next job 10 s after the last. An error is any answer
but 2xx and any transport error. A sampler reads the peak RSS of the API process, of its parser
processes (summed) and of Redis, and Redis's ``used_memory``, every 0.1 s. It prints a Markdown table per
phase (requests, errors, p50, p99, the p99 ratio, the peaks), the targets (0 errors, p99 under abuse
≤ 2× the baseline's) met or MISSED, and the hostile requests' answers by kind.

The hostile clients run in a process of their own at the machine's lowest CPU priority (a session and
autogroup of its own at nice 19): a real attacker's clients run elsewhere, and on this 2-core machine a
process sending several hundred requests a second would otherwise take a core from the service and
from the loop that times the normal clients. What the hostile requests cost the service is measured;
what they cost their sender is not.
``--append`` adds it with the command under "## Abuse" to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import ssl
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy

import httpx  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402

from bench import hostile_files as hostile  # noqa: E402
from bench.report import append_section, machine, percentile  # noqa: E402
from bench.serve_process import ServeProcess  # noqa: E402

NORMAL_KEY = "abuse-normal-0123456789abcdef"
HOSTILE_KEY = "abuse-hostile-fedcba9876543210"
FINISHED = ("succeeded", "failed", "canceled")
MB = 1024 * 1024
P99_TARGET = 2.0
"""Issue 15's target: the normal clients' p99 under abuse over their p99 alone."""


@dataclass
class Normal:
    """The normal clients' latencies (seconds) and errors (by status or exception) in one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    by_route: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    async def call(
        self, client: httpx.AsyncClient, route: str, method: str, url: str, **kw: object
    ) -> dict | None:
        """One request, timed (also under ``route``, its endpoint); its JSON on a 2xx, else None."""
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self._took(route, time.perf_counter() - started)
            self.errors[f"{method} {type(exc).__name__}"] += 1
            return None
        self._took(route, time.perf_counter() - started)
        if not response.is_success:
            self.errors[f"{method} {response.status_code}"] += 1
            return None
        return response.json()

    def _took(self, route: str, seconds: float) -> None:
        self.latencies.append(seconds)
        self.by_route[route].append(seconds)


async def normal_client(
    client: httpx.AsyncClient, stats: Normal, end: float, interval: float, seed: int
) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.random())  # spread the clients over the first second
    job_id, last, since, submitted = None, None, 0, 0.0
    while time.monotonic() < end:
        if job_id is None and time.monotonic() - submitted >= 10:
            spec = {
                "optimizer": {"name": rng.choice(("gd", "momentum", "adam"))},
                "epochs": rng.randint(200, 500),
            }
            body = await stats.call(client, "POST /jobs", "POST", "/jobs", json={**spec, "record_every": 10})
            submitted = time.monotonic()
            job_id, since = (body["id"], 0) if body else (None, 0)
        elif job_id is not None:
            costs = f"/jobs/{job_id}/costs"
            page = await stats.call(client, "GET /jobs/{id}/costs", "GET", costs, params={"since": since})
            if page is not None:
                since = page["next_since"]
                if page["status"] in FINISHED and not page["points"]:
                    last, job_id = job_id, None
        elif last is not None:  # finished, not yet time for the next: look at it, as a page would
            await stats.call(client, "GET /jobs/{id}", "GET", f"/jobs/{last}")
        await asyncio.sleep(interval)


def attacks() -> list[tuple[str, Callable[[httpx.AsyncClient], object]]]:
    """(kind, a coroutine function sending it) for every hostile request, payloads built once."""
    bomb, tiny, lying = hostile.zip_bomb(), hostile.tiny_huge_npz(), hostile.lying_npy()
    wide, long = hostile.wide_csv(), hostile.long_csv()
    at_cap = b"0.5,1\n" * 2_500_000
    predict, inline = hostile.predict_body(), hostile.inline_job_body(8_000_000)
    json_headers = {"Content-Type": "application/json"}

    def post_json(path: str, body: bytes) -> Callable[[httpx.AsyncClient], object]:
        return lambda client: client.post(path, content=body, headers=json_headers)

    predict_path, moons = "/jobs/" + "0" * 32 + "/predict", {"name": "moons", "n_samples": 1_000_000}
    big = {"dataset": moons, "epochs": 50, "layers": [1024, 1024], "mini_batch_size": "full"}

    def upload(name: str, data: bytes) -> Callable[[httpx.AsyncClient], object]:
        return lambda client: client.post(
            "/datasets", files={"file": (name, data, "application/octet-stream")}
        )

    def job(spec: dict) -> Callable[[httpx.AsyncClient], object]:
        return lambda client: client.post("/jobs", json=spec)

    return [
        ("zip bomb .npz (3.5 MB)", upload("bomb.npz", bomb)),
        ("20M zeros .npz (340 KB)", upload("tiny.npz", tiny)),
        ("lying .npy header", upload("huge.npy", lying)),
        ("CSV line of 10M values (20 MB)", upload("wide.csv", wide)),
        ("CSV of 10M lines (40 MB)", upload("long.csv", long)),
        ("CSV at the values cap (15 MB)", upload("cap.csv", at_cap)),
        ("predict body, 16M zeros (32 MB)", post_json(predict_path, predict)),
        ("inline data, 8M zeros (32 MB)", post_json("/jobs", inline)),
        ("job over epochs × examples", job({"dataset": moons, "epochs": 100})),
        ("job over parameters", job({"layers": [1024] * 10})),
        ("job over width", job({"layers": [5000]})),
        ("job over memory (issue 15's, ~92 GiB)", job(big)),
    ]  # fmt: skip


async def hostile_client(
    client: httpx.AsyncClient, kinds: list, answers: dict[str, Counter], end: float, offset: int
) -> None:
    i = offset
    while time.monotonic() < end:
        kind, send = kinds[i % len(kinds)]
        i += 1
        try:
            response = await send(client)
            answers[kind][str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            answers[kind][type(exc).__name__] += 1


async def run_normal(url: str, args: argparse.Namespace) -> Normal:
    """The normal clients, each with a client (and a connection) of its own: one shared client's pool
    looks at every connection for every request, which on 50 connections took most of this process's CPU
    and delayed the answers it times."""
    stats = Normal()
    headers = {"Authorization": f"Bearer {NORMAL_KEY}"}
    tls = ssl.create_default_context()  # unused (plain HTTP), but each client would load the CAs again
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=10, headers=headers, verify=tls)
            )
            for _ in range(args.normal)
        ]
        end = time.monotonic() + args.seconds
        await asyncio.gather(
            *(normal_client(client, stats, end, args.poll_interval, i) for i, client in enumerate(clients))
        )
    return stats


async def run_hostile(url: str, seconds: float, count: int) -> dict[str, Counter]:
    kinds, answers = attacks(), defaultdict(Counter)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    headers = {"Authorization": f"Bearer {HOSTILE_KEY}"}
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers=headers) as client:
        end = time.monotonic() + seconds
        await asyncio.gather(*(hostile_client(client, kinds, answers, end, i) for i in range(count)))
    return dict(answers)


def lowest_priority() -> None:
    """Run this process at the machine's lowest CPU priority: its own session (so, with the kernel's
    autogroups, a scheduling group of its own), that group and the process at nice 19."""
    os.setsid()
    with contextlib.suppress(OSError):  # no autogroups (or no /proc): the nice value alone
        Path("/proc/self/autogroup").write_text("19")
    os.nice(19)


def hostile_process(url: str, seconds: float, count: int) -> dict[str, Counter]:
    """The hostile clients, in a process of their own at the lowest priority: a real attacker's clients
    run on machines of their own, so building and sending their requests must not take the CPU from the
    service or from the loop that times the normal clients; what they cost the service is measured."""
    lowest_priority()
    return asyncio.run(run_hostile(url, seconds, count))


def run_phase(url: str, args: argparse.Namespace, hostile: bool) -> tuple[Normal, dict[str, Counter]]:
    if not hostile:
        return asyncio.run(run_normal(url, args)), {}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        answers = pool.submit(hostile_process, url, args.seconds, args.hostile)
        stats = asyncio.run(run_normal(url, args))
        return stats, answers.result()


class Sampler:
    """Peak RSS of the API, its parsers and Redis, and Redis's peak used_memory, every 0.1 s."""

    def __init__(self, serve: ServeProcess) -> None:
        self.root = psutil.Process(serve.process.pid)
        title = next(  # redis-server shows itself as "redis-server 127.0.0.1:PORT"
            " ".join(c.cmdline()) for c in self.root.children(recursive=True) if "redis-server" in c.name()
        )
        port = title.rsplit(":", 1)[1].split()[0]
        self.redis = redis.Redis(port=int(port))
        self.peaks: Counter = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def processes(self) -> list[tuple[psutil.Process, str]]:
        """The API's, its parsers' and Redis's processes, each with its kind (a scan of every process:
        done once a second, not every sample, so that the scan does not slow the normal clients)."""
        found = []
        for process in self.root.children(recursive=True):
            try:
                command = " ".join(process.cmdline())
            except psutil.Error:
                continue
            kind = (
                "redis" if "redis-server" in command
                else "parsers" if "core.uploads" in command
                else "api" if "uvicorn" in command
                else None
            )  # fmt: skip
            if kind:
                found.append((process, kind))
        return found

    def sample(self, processes: list[tuple[psutil.Process, str]]) -> dict[str, int]:
        rss: Counter = Counter()
        for process, kind in processes:
            try:
                rss[kind] += process.memory_info().rss
            except psutil.Error:
                continue
        rss["used_memory"] = int(self.redis.info("memory")["used_memory"])
        return rss

    def run(self) -> None:
        processes, scanned = [], 0.0
        while not self.stop.wait(0.1):
            if time.monotonic() - scanned >= 1.0:
                processes, scanned = self.processes(), time.monotonic()
            for kind, value in self.sample(processes).items():
                self.peaks[kind] = max(self.peaks[kind], value)

    def __enter__(self) -> Sampler:
        self.peaks.clear()
        self.stop.clear()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def report(
    phases: list[tuple[str, Normal, Counter, float]], answers: dict[str, Counter], seconds: float
) -> str:
    baseline_p99 = percentile(phases[0][1].latencies, 0.99)
    lines = [
        "| phase | normal requests | errors | p50 ms | p99 ms | p99 / baseline | peak RSS API "
        "| peak RSS parsers | peak RSS Redis | peak Redis used_memory |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, stats, peaks, load in phases:
        p99 = percentile(stats.latencies, 0.99)
        errors = sum(stats.errors.values())
        detail = ", ".join(f"{n}× {kind}" for kind, n in stats.errors.most_common())
        errors_cell = f"{errors} ({detail})" if detail else f"{errors}"
        lines.append(
            f"| {name} (load {load:.1f}) | {len(stats.latencies)} | {errors_cell} "
            f"| {1000 * percentile(stats.latencies, 0.5):.1f} | {1000 * p99:.1f} | {p99 / baseline_p99:.2f} "
            f"| {peaks['api'] / MB:.0f} MB | {peaks['parsers'] / MB:.0f} MB | {peaks['redis'] / MB:.0f} MB "
            f"| {peaks['used_memory'] / MB:.0f} MB |"
        )
    ratio = percentile(phases[-1][1].latencies, 0.99) / baseline_p99
    errors = sum(sum(stats.errors.values()) for _, stats, _, _ in phases)
    lines += [
        "",
        f"Targets: normal clients' errors 0 ({errors}: {'met' if not errors else 'MISSED'}); their p99 "
        f"under abuse ≤ {P99_TARGET:g}× the baseline's ({ratio:.2f}×: "
        f"{'met' if ratio <= P99_TARGET else 'MISSED'}).",
    ]
    lines += ["", "| phase | endpoint | requests | p50 ms | p99 ms |", "|---|---|--:|--:|--:|"]
    for name, stats, _, _ in phases:
        for route, latencies in sorted(stats.by_route.items()):
            lines.append(
                f"| {name} | {route} | {len(latencies)} | {1000 * percentile(latencies, 0.5):.1f} "
                f"| {1000 * percentile(latencies, 0.99):.1f} |"
            )
    sent = sum(sum(counts.values()) for counts in answers.values())
    lines += ["", f"Hostile requests: {sent} ({sent / seconds:.0f} a second).", ""]
    lines += ["| hostile request | sent | answers |", "|---|--:|---|"]
    for kind, counts in answers.items():
        shown = ", ".join(f"{n}× {status}" for status, n in sorted(counts.items()))
        lines.append(f"| {kind} | {sum(counts.values())} | {shown} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--normal", type=int, default=50)
    parser.add_argument("--hostile", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--poll-interval", type=float, default=1.0, help="A normal client's pause.")
    parser.add_argument(
        "--max-refusals",
        type=int,
        help="The service's max_refusals_per_minute (its default unless given; 0: off, the worst case).",
    )
    parser.add_argument("--append", type=Path, help="Append the tables under '## Abuse' to this file.")
    args = parser.parse_args()
    refusals = (
        {} if args.max_refusals is None else {"DESCENT_MAX_REFUSALS_PER_MINUTE": str(args.max_refusals)}
    )

    service = ServeProcess(
        "--workers", str(args.workers),
        env={
            "API_KEYS": f"{NORMAL_KEY},{HOSTILE_KEY}",
            "DESCENT_RATE_LIMIT_JOBS_PER_MINUTE": "0",
            "DESCENT_RATE_LIMIT_UPLOADS_PER_MINUTE": "0",
            "DESCENT_LOG_LEVEL": "WARNING",
            **refusals,
        },
    )  # fmt: skip
    phases = []
    try:
        service.wait_ready()
        sampler = Sampler(service)
        for name, hostile in (("baseline", False), ("abuse", True)):
            load = os.getloadavg()[0]
            with sampler:
                stats, answers = run_phase(service.url, args, hostile)
            phases.append((name, stats, Counter(sampler.peaks), load))
            print(f"{name}: {len(stats.latencies)} requests, {sum(stats.errors.values())} errors", flush=True)
    finally:
        service.stop()

    command = " ".join(sys.argv[1:])
    header = (
        f"{machine()}; `descent serve` "
        f"with {args.workers} workers, 1 API process, embedded Redis, default caps, rate limits off, "
        f"max_refusals_per_minute {'default (30)' if args.max_refusals is None else args.max_refusals}; "
        f"{args.normal} normal clients (a request every {args.poll_interval:g} s each), then the same with "
        f"{args.hostile} hostile clients, {args.seconds:g} s each (the normal clients in the benchmark "
        f"process, the hostile ones in a process of their own at the lowest CPU priority); the load average "
        f"(1 min) at the start of each phase is in the table; {datetime.now():%Y-%m-%d}."
    )
    output = f"{header}\n\n{report(phases, answers, args.seconds)}"
    print(output)
    if args.append:
        append_section(args.append, "Abuse", "abuse.py", command, output)


if __name__ == "__main__":
    main()
