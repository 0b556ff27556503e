"""Jobs as the API makes them, for tests that drive workers directly; the fault tests' worker settings."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.config import Settings
from core.queue import JobQueue, rq_queue
from core.spec import TrainingSpec
from core.store import PUBLIC_OWNER, JobStore, npz_to_arrays

WORKER_ENV = {"DESCENT_HEARTBEAT_SECONDS": "2", "DESCENT_CHECKPOINT_SECONDS": "0.5"}


def enqueue(store: JobStore, settings: Settings, **spec: Any) -> str:
    """What POST /jobs does: store the job and enqueue it (``core.queue``)."""
    jobs = JobQueue(store, rq_queue(store.redis, settings), settings)
    return jobs.submit(TrainingSpec.model_validate(spec), PUBLIC_OWNER).id


def trained_model(store: JobStore, job_id: str) -> dict[str, np.ndarray] | None:
    """The job's trained parameters, or None."""
    data = store.get_model_bytes(job_id)
    return None if data is None else npz_to_arrays(data)


def status(store: JobStore, job_id: str) -> str | None:
    record = store.get_job(job_id)
    return None if record is None else record.status


def field(store: JobStore, job_id: str, name: str) -> str | None:
    """A raw field of the job's hash."""
    value = store.redis.hget(store.keys.job(job_id), name)
    return None if value is None else value.decode()
