"""One RQ worker process: a ``SimpleWorker`` on the settings' queue, JSON job arguments, one BLAS thread.

``SimpleWorker`` runs each job in the worker process itself instead of forking a work horse per job, so
a job starts within milliseconds of being enqueued and the trainer's imports are paid once per process.
Without a horse nobody refreshes RQ's heartbeats during a job, so :class:`DescentWorker` does that from a
thread every ``HEARTBEAT_SECONDS``. ``descent serve`` runs N workers side by side, one per core, so each
gets one BLAS thread: more would oversubscribe the cores.

A first SIGTERM/SIGINT sets :data:`SHUTDOWN`; the running job sees it after its current epoch, saves a
checkpoint and goes back to the queue (``worker.tasks``); then the worker exits (RQ's warm shutdown).
When Redis goes away RQ's work loop quits; :func:`run_worker` then waits for Redis and starts a new one.
Each worker process also runs a reaper thread (:mod:`worker.reaper`) that re-queues lost workers' jobs.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from redis import Redis, RedisError
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from service.config import get_settings

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
HEARTBEAT_SECONDS = 10
RECONNECT_SECONDS = 1.0

log = logging.getLogger(__name__)

SHUTDOWN = threading.Event()


def one_blas_thread_env() -> dict[str, str]:
    """The environment variables that give a process one BLAS thread (set before NumPy loads)."""
    return dict.fromkeys(BLAS_THREAD_VARIABLES, "1")


def limit_blas_threads() -> None:
    """One BLAS thread in this process, also when NumPy is already loaded (threadpoolctl, if installed)."""
    for name, value in one_blas_thread_env().items():
        os.environ.setdefault(name, value)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # only the env variables then: right if NumPy was not imported yet
        return
    threadpool_limits(1)


class DescentWorker(SimpleWorker):
    """A SimpleWorker that heartbeats during a job and, on a warm shutdown, asks the job to hand back.

    While Redis is unreachable RQ retries with a backoff; it is capped at ``max_connection_wait_time``
    seconds so that a worker is back at work within seconds of Redis.
    """

    max_connection_wait_time = 2.0

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job in this process while a thread keeps the worker's and the job's heartbeats."""
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, done), daemon=True)
        beat.start()
        try:
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

    def request_stop(self, signum: int, frame: object) -> None:
        """Warm shutdown: the running job checkpoints and goes back to the queue, then the worker exits."""
        SHUTDOWN.set()
        super().request_stop(signum, frame)


def run_worker(redis_url: str | None, queue_name: str, *, burst: bool = False) -> None:
    """Work jobs from ``queue_name`` on ``redis_url`` until SIGTERM/SIGINT (``burst``: until it is empty)."""
    if not redis_url:
        raise SystemExit("REDIS_URL is not set: `descent worker` needs a Redis (`descent serve` embeds one)")
    import worker.tasks  # noqa: F401  (load NumPy and the trainer now, not in the first job)
    from worker.reaper import start_reaper

    settings = get_settings().model_copy(update={"redis_url": redis_url, "queue_name": queue_name})
    start_reaper(settings, SHUTDOWN)
    connection = Redis.from_url(redis_url, health_check_interval=30, socket_connect_timeout=5)
    while True:
        try:
            rq_worker = DescentWorker(
                [queue_name],
                connection=connection,
                serializer=JSONSerializer,
                job_monitoring_interval=HEARTBEAT_SECONDS,
            )
            rq_worker.work(burst=burst, logging_level="INFO")
        except RedisError as exc:
            log.warning("lost Redis (%s)", exc)
        if burst or SHUTDOWN.is_set():
            return
        _wait_for_redis(connection)  # RQ's loop quits when Redis goes away: start a new one once it is back


def _wait_for_redis(connection: Redis) -> None:
    """Return once Redis answers PING (checked every RECONNECT_SECONDS), or at SIGTERM/SIGINT."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: SHUTDOWN.set())
    while not SHUTDOWN.is_set():
        try:
            connection.ping()
            log.warning("Redis is back: working again")
            return
        except RedisError:
            time.sleep(RECONNECT_SECONDS)
