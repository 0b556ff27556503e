"""What ``GET /metrics`` reads from Redis at each scrape: the state every process shares.

The API's processes count their own requests (``service.metrics``, prometheus-client's multiprocess mode
when there are several); what only the workers know, and what no single process can count, lives in
Redis and is read here, once per scrape, in one pipelined round trip:

* ``descent_jobs{status}``: jobs now ``queued`` or ``running`` (``P:stats`` ``jobs:{status}``);
* ``descent_jobs_finished_total{status}``: jobs that ended ``succeeded``, ``failed`` or ``canceled``;
* ``descent_worker_runs_total{outcome}``: the workers' runs by how they ended (``handed back`` too);
* ``descent_training_steps_total``: training steps of all workers (``rate()`` of it is steps per second);
* ``descent_queue_depth``: RQ jobs waiting on the queue;
* ``descent_workers``: RQ workers of the queue whose key has not expired (alive);
* ``descent_redis_up``: 1 if this scrape could read Redis, else 0 (and nothing above).

Several API processes scraped at once each read the same numbers: Redis holds one copy.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from redis import Redis, RedisError

from core.config import Settings
from core.queue import live_workers, rq_queue
from core.statuses import FINISHED, QUEUED, RUNNING
from core.store import JobStore
from core.store.stats import RUN_OUTCOMES, job_count_field, run_count_field


class RedisCollector(Collector):
    """Collects the shared counters and the queue's state from Redis at each scrape."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.store = JobStore(redis, settings)
        self.queue = rq_queue(redis, settings)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("descent_redis_up", "1 if this scrape read Redis, else 0.")
        try:
            stats, depth, workers = self.store.stats(), len(self.queue), live_workers(self.queue)
        except RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily("descent_jobs", "Jobs now in each active status.", labels=["status"])
        for status in (QUEUED, RUNNING):
            jobs.add_metric([status], max(0, stats[job_count_field(status)]))
        yield jobs
        finished = CounterMetricFamily(
            "descent_jobs_finished", "Jobs that ended in each status.", labels=["status"]
        )
        for status in sorted(FINISHED):
            finished.add_metric([status], stats[job_count_field(status)])
        yield finished
        runs = CounterMetricFamily(
            "descent_worker_runs", "The workers' runs of jobs by how they ended.", labels=["outcome"]
        )
        for outcome in RUN_OUTCOMES:
            runs.add_metric([outcome.replace(" ", "_")], stats[run_count_field(outcome)])
        yield runs
        steps = CounterMetricFamily("descent_training_steps", "Training steps (mini-batch updates) done.")
        steps.add_metric([], stats["steps"])
        yield steps
        yield GaugeMetricFamily("descent_queue_depth", "RQ jobs waiting on the queue.", value=depth)
        yield GaugeMetricFamily("descent_workers", "RQ workers alive on the queue.", value=workers)
