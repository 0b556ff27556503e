"""Live events: many SSE subscribers on one API process while jobs train (a benchmark).

    .venv/bin/python bench/events.py [--subscribers 1,500] [--jobs 4] [--epochs 3000] [--record-every 10]
                                     [--repeat 3] [--append docs/benchmarks.md]

It starts a redis-server and `descent serve` on it (one uvicorn process, one worker). Per run and per
subscriber count: a long warm-up job occupies the worker while ``--jobs`` jobs queue behind it; each
subscriber opens ``GET /jobs/{id}/events`` on one of them (round robin) and waits for its ``queued`` event;
then the warm-up job is canceled and the jobs train one after another while every subscriber follows its
job to the end of its stream (they connect 50 at a time). The subscribers are raw asyncio sockets in this
process (no HTTP library), so the client costs little of the machine's 2 cores.

Latency is from the write (the event's ``at``: Redis' clock when the worker's script added it) to the
moment this process parsed the event, for every event after ``queued``. Every subscriber's ids must be
1, 2, … to its job's terminal status, equal to the job's stream in Redis: dropped and duplicated events
are counted. Memory is the uvicorn process's RSS (psutil) before the subscribers connect and at its peak.
The table gives the median of ``--repeat`` runs for each count, and the ratio to the first count's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import redis  # noqa: E402

from bench.report import percentile  # noqa: E402
from bench.serve_process import ServeProcess  # noqa: E402
from core.events import Event, seq_of  # noqa: E402
from core.keys import Keys  # noqa: E402
from descent.embedded_redis import start_redis, stop_process  # noqa: E402

WARM_UP = {"optimizer": {"name": "adam"}, "epochs": 150_000, "record_every": 1000}
WAVE = 50
"""Subscribers that connect at once: 500 in the same instant starve the API's event loop on 2 cores past
its 1 s Redis connect timeout (503 with Retry-After, which an EventSource retries)."""
TERMINAL = (b'{"status":"succeeded"', b'{"status":"failed"', b'{"status":"canceled"')


@dataclass
class Subscriber:
    """One SSE client: the ids it got, when, and whether its stream ended after a terminal status."""

    job_id: str
    ids: list[int] = field(default_factory=list)
    received: list[float] = field(default_factory=list)
    ended: bool = False
    queued: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
        request = (
            f"GET /jobs/{self.job_id}/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        buffer = b""
        try:
            while True:  # chunked transfer encoding: size line, chunk, CRLF; a 0 chunk ends the body
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                if size == 0:
                    break
                buffer += (await reader.readexactly(size + 2))[:-2]
                *blocks, buffer = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
                now = time.time()
                for block in blocks:
                    self._event(block, now)
        finally:
            writer.close()

    def _event(self, block: bytes, now: float) -> None:
        fields = dict(line.split(b": ", 1) for line in block.split(b"\n") if not line.startswith(b":"))
        if b"id" not in fields:
            return  # a heartbeat
        self.ids.append(int(fields[b"id"]))
        self.received.append(now)
        if len(self.ids) == 1:
            self.queued.set()
        if fields[b"event"] == b"status" and fields[b"data"].startswith(TERMINAL):
            self.ended = True


def sample_rss(process: psutil.Process, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        time.sleep(0.1)


async def one_run(serve: ServeProcess, client: redis.Redis, api: psutil.Process, args, n: int) -> dict:
    """One run with ``n`` subscribers; latencies (s), drops, duplicates, RSS before and at peak."""
    http = serve.client
    warm_up = http.post("/jobs", json=WARM_UP).json()["id"]
    spec = {"optimizer": {"name": "adam"}, "epochs": args.epochs, "record_every": args.record_every}
    jobs = [http.post("/jobs", json=spec).json()["id"] for _ in range(args.jobs)]
    before = api.memory_info().rss
    peak, stop = [before], threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(api, stop, peak), daemon=True)
    sampler.start()
    subscribers = [Subscriber(jobs[i % len(jobs)]) for i in range(n)]
    tasks = []
    for start in range(0, n, WAVE):  # connect in waves, each once the previous one is streaming
        wave = subscribers[start : start + WAVE]
        tasks += [asyncio.create_task(s.run(serve.port)) for s in wave]
        await asyncio.wait_for(asyncio.gather(*(s.queued.wait() for s in wave)), 120)
    http.delete(f"/jobs/{warm_up}")
    await asyncio.wait_for(asyncio.gather(*tasks), 600)
    stop.set()
    sampler.join()
    keys = Keys()
    stored = {}
    for job_id in jobs:
        entries = client.xrange(keys.events(job_id))
        stored[job_id] = {seq_of(i): Event.of(i, f).at / 1e6 for i, f in entries}
    latencies, dropped, duplicated = [], 0, 0
    for s in subscribers:
        expected = sorted(stored[s.job_id])
        dropped += len(set(expected) - set(s.ids)) + (not s.ended)
        duplicated += len(s.ids) - len(set(s.ids))
        at = stored[s.job_id]
        latencies += [t - at[i] for i, t in zip(s.ids, s.received, strict=True) if i > 1 and i in at]
    return {
        "latencies": latencies,
        "dropped": dropped,
        "duplicated": duplicated,
        "events": sum(len(s.ids) for s in subscribers),
        "rss_before": before,
        "rss_peak": peak[0],
    }


async def main(args) -> str:
    folder = tempfile.TemporaryDirectory(prefix="descent-bench-events-")
    redis_process, url = start_redis(Path(folder.name, "redis"))
    env = {
        "REDIS_URL": url,
        "DESCENT_RATE_LIMIT_JOBS_PER_MINUTE": "0",
        "DESCENT_EVENTS_MAX_SUBSCRIBERS": "10000",
    }
    serve = ServeProcess("--workers", "1", env=env)
    client = redis.Redis.from_url(url)
    rows = []
    try:
        serve.wait_ready()
        supervisor = psutil.Process(serve.process.pid)
        api = next(p for p in supervisor.children(recursive=True) if "uvicorn" in " ".join(p.cmdline()))
        counts = [int(c) for c in args.subscribers.split(",")]
        for n in counts:
            runs = [await one_run(serve, client, api, args, n) for _ in range(args.repeat)]
            rows.append((n, runs))
    finally:
        client.close()
        serve.stop()
        stop_process(redis_process)
        folder.cleanup()
    base = statistics.median(percentile(r["latencies"], 0.5) for r in rows[0][1])
    lines = [
        f"{args.jobs} jobs (adam, moons, {args.epochs} epochs, a point every {args.record_every}) trained "
        f"one after another by 1 worker; median of {args.repeat} runs ({datetime.now():%Y-%m-%d}, "
        f"{psutil.cpu_count()} cores):",
        "",
        "| subscribers | events received | p50 latency | p99 latency | p50 vs 1 | dropped | duplicated "
        "| API RSS before | API RSS peak |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, runs in rows:
        p50 = statistics.median(percentile(r["latencies"], 0.5) for r in runs)
        p99 = statistics.median(percentile(r["latencies"], 0.99) for r in runs)
        lines.append(
            f"| {n} | {statistics.median(r['events'] for r in runs):,.0f} | {p50 * 1e3:.1f} ms "
            f"| {p99 * 1e3:.1f} ms | {p50 / base:.2f}× | {sum(r['dropped'] for r in runs)} "
            f"| {sum(r['duplicated'] for r in runs)} "
            f"| {statistics.median(r['rss_before'] for r in runs) / 2**20:.0f} MiB "
            f"| {statistics.median(r['rss_peak'] for r in runs) / 2**20:.0f} MiB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", default="1,500", help="Comma-separated subscriber counts.")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3000)
    parser.add_argument("--record-every", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--append", type=Path, help="Add the table to this file under '## Live events'.")
    arguments = parser.parse_args()
    table = asyncio.run(main(arguments))
    print(table)
    if arguments.append:
        command = "python bench/events.py " + " ".join(sys.argv[1:])
        with arguments.append.open("a") as out:
            out.write(f"\n## Live events\n\n`{command}`\n\n{table}\n")
