"""The event hub on a real Redis while a writer thread appends as a worker does: clients that join at
any moment, or fall behind, still get every event once, in order, and their stream ends at the end."""

from __future__ import annotations

import asyncio
import threading
import time

from core.config import Settings
from core.spec import TrainingSpec
from core.store import JobStore
from service.events.hub import EventHub
from service.events.stream import follow
from tests.sse import Sse, assert_contiguous, parse_sse
from trainer.network import initialize_parameters

N_POINTS = 400


def write_job(store: JobStore, job_id: str, pause: float) -> None:
    """What a worker writes: running, one point per flush with its progress, then succeeded."""
    store.start_run(job_id, "run", rq_job=job_id)
    for epoch in range(1, N_POINTS + 1):
        store.append_costs(job_id, [(epoch, 1.0 / epoch)], epoch=epoch)
        time.sleep(pause)
    store.succeed(job_id, {"accuracy": 1.0}, initialize_parameters((2, 1), 1))


async def collect(hub: EventHub, key: str, delay: float = 0.0, stall: float = 0.0) -> list[Sse]:
    """Follow ``key`` from the start after ``delay`` s; after the first chunk, pause ``stall`` s."""
    await asyncio.sleep(delay)
    chunks = []
    async for chunk in follow(hub, key, 0, max_seconds=60):
        if not chunks:
            await asyncio.sleep(stall)
        chunks.append(chunk)
    return parse_sse(b"".join(chunks).decode().splitlines())[0]


def run_with_writer(store: JobStore, settings: Settings, pause: float, *clients: dict, **hub_options) -> list:
    job_id = store.create_job(TrainingSpec()).id
    writer = threading.Thread(target=write_job, args=(store, job_id, pause))

    async def main() -> list[list[Sse]]:
        hub = EventHub(settings, **hub_options)
        try:
            writer.start()
            tasks = [collect(hub, store.keys.events(job_id), **options) for options in clients]
            return await asyncio.wait_for(asyncio.gather(*tasks), 60)
        finally:
            await hub.close()
            assert hub.count == 0 and not hub.positions, "every subscription ended and was dropped"

    try:
        return asyncio.run(main())
    finally:
        writer.join(60)


def assert_whole_story(events: list[Sse]) -> None:
    assert_contiguous(events)
    assert [e.data["epoch"] for e in events if e.event == "point"] == list(range(1, N_POINTS + 1))
    assert events[-1].data["status"] == "succeeded"


def test_clients_joining_at_any_moment_get_every_event_once(store: JobStore, settings: Settings) -> None:
    delays = [{"delay": d} for d in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7)]
    results = run_with_writer(store, settings, 0.002, *delays)
    for events in results:
        assert_whole_story(events)


def test_a_client_that_falls_behind_catches_up_from_redis(store: JobStore, settings: Settings) -> None:
    # Its queue holds 3 events; it reads nothing for 0.5 s while the writer adds ~2 events a millisecond,
    # so its queue overflows and it must join again and read what it missed from Redis.
    (slow, fast) = run_with_writer(store, settings, 0.0005, {"stall": 0.5}, {}, queue_limit=3)
    assert_whole_story(slow)
    assert_whole_story(fast)
