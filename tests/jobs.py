"""Jobs as the API makes them, for tests that drive workers directly; the fault tests' worker settings."""

from __future__ import annotations

from typing import Any

from rq import Queue
from rq.serializers import JSONSerializer

from service.config import Settings
from service.spec import TrainingSpec
from service.store import JobStore

WORKER_ENV = {"DESCENT_HEARTBEAT_SECONDS": "2", "DESCENT_CHECKPOINT_SECONDS": "0.5"}


def enqueue(store: JobStore, settings: Settings, **spec: Any) -> str:
    """What POST /jobs does: store the job, enqueue ``worker.tasks.run_job`` with JSON arguments."""
    job_id = store.create_job(TrainingSpec.model_validate(spec)).id
    queue = Queue(settings.queue_name, connection=store.redis, serializer=JSONSerializer)
    queue.enqueue("worker.tasks.run_job", job_id, job_id=job_id, job_timeout=-1)
    return job_id


def status(store: JobStore, job_id: str) -> str | None:
    record = store.get_job(job_id)
    return None if record is None else record.status


def field(store: JobStore, job_id: str, name: str) -> str | None:
    """A raw field of the job's hash."""
    value = store.redis.hget(store.job_key(job_id), name)
    return None if value is None else value.decode()
