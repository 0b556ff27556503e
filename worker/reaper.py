"""Lost workers: find running jobs whose worker stopped beating, and re-queue or fail them.

A running job's worker beats every second (:mod:`worker.watch`), moving the job's score in ``P:running``
to Redis's clock. A worker SIGKILLed or OOM-killed, or a machine gone, stops beating. Every worker
process runs a :class:`Reaper` in a thread (:func:`start_reaper`); every ``interval`` seconds it takes
each job whose last beat is more than ``settings.heartbeat_seconds`` old:

1. ``JobStore.claim_lost_run`` (one Lua script: of several reapers exactly one gets the job) counts the
   loss in the job's ``workers_lost`` and clears its run id (a lost run that still lives stops);
2. the lost run's RQ job leaves RQ's started registry and is marked failed, so RQ does not act on it;
3. the job goes back to ``queued`` with a new RQ job at the front of the queue (``worker.tasks.requeue``)
   and resumes from its last checkpoint; or, once ``workers_lost`` reaches ``settings.max_attempts``,
   it fails with "worker lost N times; last seen at <UTC time>".

Every window it also looks for queued jobs idle for a window whose RQ job is gone or over (the API died
between storing a job and enqueueing it, a hand-back's enqueue failed, Redis lost its last second) and
enqueues each again (:meth:`Reaper.requeue_orphans`).

A heartbeat is stale also when Redis itself was away, so a reaper acts only once Redis has been up, and
this reaper connected to it, for a whole window: by then every living worker has beaten again.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from service.config import Settings
from service.store import JobStore, connect
from worker.tasks import enqueue_again, new_rq_job_id, requeue

PENDING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)

log = logging.getLogger(__name__)


class Reaper:
    """Re-queues (or fails) the jobs of lost workers; safe to run in many processes at once."""

    def __init__(self, store: JobStore, queue: Queue, settings: Settings) -> None:
        self.store, self.queue = store, queue
        self.window = settings.heartbeat_seconds
        self.max_attempts = settings.max_attempts

    def reap(self) -> dict[str, str]:
        """One pass: each lost job this reaper took, and what became of it (``queued`` or ``failed``)."""
        done = {}
        for job_id in self.store.stale_runs(self.window):
            claim = self.store.claim_lost_run(job_id, self.window, lease=self.window)
            if claim is None:
                continue  # another reaper took it, it beat again, or it is not running
            lost, last_seen, rq_job = claim
            self._retire(rq_job, job_id)
            seen = datetime.fromtimestamp(last_seen, UTC).isoformat(timespec="seconds")
            if lost >= self.max_attempts:
                times = "time" if lost == 1 else "times"
                self.store.fail(job_id, f"worker lost {lost} {times}; last seen at {seen}")
                self.store.end_run(job_id)
                done[job_id] = "failed"
            else:
                done[job_id] = "queued" if requeue(self.store, self.queue, job_id) else "left as it was"
            log.warning("job %s: its worker was lost (last seen at %s); %s", job_id, seen, done[job_id])
        return done

    def requeue_orphans(self) -> list[str]:
        """Queued jobs idle for a window whose RQ job is gone or over (an enqueue lost with a crash of the
        API or of Redis): each enqueued again, once (``JobStore.swap_rq_job`` decides among reapers)."""
        done = []
        for job_id, rq_job in self.store.idle_queued_jobs(self.window):
            if self._rq_job_pending(rq_job):
                continue
            new = new_rq_job_id(job_id)
            if self.store.swap_rq_job(job_id, rq_job, new):
                enqueue_again(self.store, self.queue, job_id, new)
                log.warning("job %s: queued without a pending RQ job; enqueued again", job_id)
                done.append(job_id)
        return done

    def _rq_job_pending(self, rq_job: str) -> bool:
        try:
            job = Job.fetch(rq_job, connection=self.queue.connection, serializer=self.queue.serializer)
        except NoSuchJobError:
            return False
        return job.get_status() in PENDING

    def _retire(self, rq_job: str, job_id: str) -> None:
        """Take the lost run's RQ job out of RQ's started registry and mark it failed."""
        if not rq_job:
            return
        try:
            job = Job.fetch(rq_job, connection=self.queue.connection, serializer=self.queue.serializer)
        except NoSuchJobError:
            return
        if job.get_status() != JobStatus.STARTED:
            return
        with self.queue.connection.pipeline() as pipe:
            job.started_job_registry.remove_executions(job, pipeline=pipe)
            job.set_status(JobStatus.FAILED, pipeline=pipe)
            reason = f"descent: the worker running job {job_id} was lost"
            job.failed_job_registry.add(job, ttl=job.failure_ttl, exc_string=reason, pipeline=pipe)
            pipe.execute()

    def ready(self) -> bool:
        """Whether Redis has been up for a whole window (so a stale beat means a lost worker)."""
        return int(self.store.redis.info("server")["uptime_in_seconds"]) >= self.window


def run_reaper(reaper: Reaper, stop: threading.Event, interval: float) -> None:
    """Reap every ``interval`` seconds (and look for orphaned queued jobs every window) until ``stop``,
    once connected for a whole window."""
    connected_since: float | None = None
    next_orphans = time.monotonic()
    while not stop.wait(interval):
        try:
            ready = reaper.ready()
            now = time.monotonic()
            connected_since = now if connected_since is None else connected_since
            if ready and now - connected_since >= reaper.window:
                reaper.reap()
                if now >= next_orphans:
                    reaper.requeue_orphans()
                    next_orphans = now + reaper.window
        except redis.RedisError:
            connected_since = None
        except Exception:  # a bug must not end the thread: log it and try again next time
            log.exception("reaper pass failed")


def start_reaper(settings: Settings, stop: threading.Event) -> threading.Thread:
    """A daemon thread reaping on ``settings``' Redis and queue (every ≤ 1 s) until ``stop``."""
    assert settings.redis_url is not None
    client = connect(settings.redis_url)
    queue = Queue(settings.queue_name, connection=client, serializer=JSONSerializer)
    reaper = Reaper(JobStore(client, settings), queue, settings)
    interval = min(1.0, settings.heartbeat_seconds / 4)
    thread = threading.Thread(target=run_reaper, args=(reaper, stop, interval), daemon=True, name="reaper")
    thread.start()
    return thread
