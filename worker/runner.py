"""Worker processes: RQ's ``WorkerPool`` of :class:`DescentWorker` on the settings' queue.

``descent worker --processes N`` (and so ``descent serve``) calls :func:`run_pool`: RQ's pool starts N
worker processes, starts a new one when one dies (a worker whose loop quit because Redis went away
included), and on SIGTERM/SIGINT asks each to stop.

:class:`DescentWorker` is a ``SimpleWorker``: each job runs in the worker process itself instead of a
forked work horse, so a job starts within milliseconds and the trainer's imports are paid once per
process. What RQ's forking ``Worker`` does while its horse works, it does from a thread: RQ's
``maintain_heartbeats`` every :data:`BEAT_SECONDS`. Its heartbeat TTL is the configured window
(``heartbeat_seconds``) instead of RQ's fixed ``job_monitoring_interval + 60`` s, so the execution of a
worker that stops beating expires from RQ's ``StartedJobRegistry`` within the window.

Each worker process also runs RQ's abandoned-job handling (:class:`LostJobSweep`:
``StartedJobRegistry.cleanup()``, which calls ``core.queue.on_failure`` and retries the job), every second
by one worker at a time. Just after a Redis outage every heartbeat looks stale, so it acts only once Redis
has been up, and the worker connected to it, for a whole window: by then every living worker beat again.

Logs go through ``core.logs`` (``DESCENT_LOG_FORMAT=json``: one JSON object a line, with the job's id),
and RQ's own success line is dropped (:class:`RqSuccessLines`): ``worker.tasks`` says how a run ended.

A first SIGTERM/SIGINT sets the worker's ``shutdown`` Event, which the running job gets explicitly
(``worker.context``): after its current epoch it checkpoints and hands itself back, then RQ's warm
shutdown ends the worker.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from redis import Redis, RedisError
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.worker import WorkerStatus
from rq.worker_pool import WorkerPool
from threadpoolctl import threadpool_limits

import worker.tasks  # noqa: F401  (NumPy and the trainer load once per process, before the first job)
from core.config import Settings, get_settings
from core.keys import Keys
from core.logs import bound_job, configure_logging
from worker.context import running_under

BEAT_SECONDS = 1
SWEEP_LOCK_SECONDS = 10

log = logging.getLogger(__name__)


class DescentWorker(SimpleWorker):
    """A SimpleWorker that beats during a job, sweeps for lost jobs, and tells its job of a shutdown.

    While Redis is unreachable RQ retries with a backoff, capped at ``max_connection_wait_time`` seconds
    so that a worker is back at work within seconds of Redis.
    """

    max_connection_wait_time = 2.0

    def __init__(self, queues: list[str | Queue], *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = JSONSerializer  # RQ then builds the queues (by name) with it too
        super().__init__([q.name if isinstance(q, Queue) else q for q in queues], *args, **kwargs)
        self.settings = get_settings()
        self.job_monitoring_interval = BEAT_SECONDS
        self.shutdown = threading.Event()
        self.redis_settled = RedisSettled(self.connection, self.settings.heartbeat_seconds)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """A job's execution expires when its worker has not beaten for the configured window."""
        return math.ceil(self.settings.heartbeat_seconds)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """RQ's work loop, with a :class:`LostJobSweep` of this worker's queues beside it.

        Without RQ's scheduler, which RQ's pool asks for: descent schedules nothing (retries are
        immediate), and the scheduler's forked process would keep this worker's sockets open after the
        worker died, so that Redis would hand the next job to a dead worker's pending BLMOVE.
        """
        kwargs["with_scheduler"] = False
        stop = threading.Event()
        for queue in self.queues:
            LostJobSweep(queue, self.redis_settled, stop).start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job in this process while a thread keeps the worker's and the job's heartbeats."""
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, done), daemon=True, name="beat")
        beat.start()
        try:
            with running_under(self.shutdown), bound_job(job.args[0] if job.args else job.id):
                self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join(timeout=5)
        self.set_state(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Execution, done: threading.Event) -> None:
        while not done.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except RedisError as exc:
                self.log.warning("heartbeat failed: %s", exc)

    def clean_registries(self) -> None:
        """RQ's own maintenance (its abandoned-job handling included), once Redis has settled."""
        if self.redis_settled():
            super().clean_registries()

    def request_stop(self, signum: int, frame: object) -> None:
        """Warm shutdown: the running job checkpoints and goes back to the queue, then the worker exits."""
        self.shutdown.set()
        super().request_stop(signum, frame)


class RedisSettled:
    """Whether Redis has been up, and this process connected to it, for a whole window.

    Just after an outage longer than the window every heartbeat is stale, though the workers live; by the
    time this holds, each living worker has beaten again, so an expired execution means a lost worker.
    """

    def __init__(self, connection: Redis, window: float) -> None:
        self.connection, self.window = connection, window
        self.connected_since: float | None = None

    def __call__(self) -> bool:
        try:
            redis_up = int(self.connection.info("server")["uptime_in_seconds"])
        except RedisError:
            self.connected_since = None
            return False
        now = time.monotonic()
        self.connected_since = now if self.connected_since is None else self.connected_since
        return redis_up >= self.window and now - self.connected_since >= self.window


class LostJobSweep(threading.Thread):
    """RQ's abandoned-job handling for one queue, every second (at most), by one worker at a time."""

    def __init__(self, queue: Queue, redis_settled: RedisSettled, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"sweep-{queue.name}")
        self.queue, self.redis_settled, self.stop = queue, redis_settled, stop
        self.lock = Keys().sweep_lock(queue.name)

    def run(self) -> None:
        while not self.stop.wait(min(1.0, self.redis_settled.window / 4)):
            try:
                if self.redis_settled():
                    self.sweep()
            except RedisError:
                pass  # the next pass finds Redis back, or not
            except Exception:  # a bug must not end the thread: log it and try again next time
                log.exception("lost-job sweep failed")

    def sweep(self) -> None:
        """``StartedJobRegistry.cleanup()`` under a short lock, so two workers never retry one job twice."""
        connection: Redis = self.queue.connection
        if not connection.set(self.lock, b"1", nx=True, ex=SWEEP_LOCK_SECONDS):
            return
        try:
            StartedJobRegistry(queue=self.queue, death_penalty_class=TimerDeathPenalty).cleanup()
        finally:
            connection.delete(self.lock)


class RqSuccessLines(logging.Filter):
    """Drops RQ's "Successfully completed … job" and "… Job OK" lines.

    RQ says them for every job function that returned, a run handed back by a stopping worker included;
    ``worker.tasks.report_end`` logs how each run really ended (succeeded, failed, canceled, handed back).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        said = str(record.msg).startswith("Successfully completed") or any("Job OK" in str(a) for a in args)
        return not said


def run_pool(settings: Settings, processes: int, *, burst: bool = False) -> None:
    """``processes`` workers on the settings' Redis and queue until SIGTERM/SIGINT (``burst``: until the
    queue is empty), each restarted by RQ's pool if it dies."""
    if not settings.redis_url:
        raise SystemExit("REDIS_URL is not set: `descent worker` needs a Redis (`descent serve` embeds one)")
    threadpool_limits(1)  # one BLAS thread per worker: the parallelism is one job per worker process
    configure_logging(settings.log_format, settings.log_level)  # the pool's forked workers inherit it
    logging.getLogger("rq.worker").addFilter(RqSuccessLines())
    connection = Redis.from_url(settings.redis_url, health_check_interval=30, socket_connect_timeout=5)
    pool = WorkerPool(
        [settings.queue_name],
        connection=connection,
        num_workers=processes,
        worker_class=DescentWorker,
        serializer=JSONSerializer,
    )
    pool.start(burst=burst, logging_level="INFO")
