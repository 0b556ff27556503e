"""Jobs, their costs, models and checkpoints, and uploaded datasets in Redis; key names in ``core.keys``.

Nothing is pickled: specs and results are JSON, arrays are npz read with ``np.load(allow_pickle=False)``.
Status changes go through one Lua script (:meth:`Jobs.transition`), so a change is atomic and only
allowed from the expected statuses (a canceled job never becomes running).

What a worker does with a job, through this class only (``worker.tasks``):

1. ``start_run(job_id, run, rq_job)``: queued → running as a fresh run id; False: skip the job.
2. ``get_spec(job_id)``; the data through ``core.data.training_data``; train.
3. While training: ``append_costs(job_id, points, epoch=...)`` in batches; ``runs_of(job_ids)`` tells
   whether a cancel was asked for and whether the run still owns the job; ``save_run_state`` every few
   seconds so the job can resume; a run resumed at epoch E calls ``drop_costs_after(job_id, E)`` first.
4. At the end exactly one of ``succeed``, ``mark_canceled`` or ``fail``, each guarded by the run id (a
   run that lost the job writes nothing), or a hand-back (``core.queue.JobQueue.hand_back``).

The parts, one module each: ``base`` (client, keys, npz), ``jobs`` (records and status changes, each
with its ``status`` event), ``costs`` (points, their ``point`` and ``progress`` events, the packed curve),
``curve`` (the curve downsampled), ``artifacts`` (model, checkpoint), ``datasets``, ``experiments``
(experiments, the stacks their members train in), ``submissions`` (idempotency keys, rate counters) and
``stats`` (the counters of ``GET /metrics``); the Lua scripts are in ``scripts/``. The API's polls read
on ``redis.asyncio`` through ``reads`` (a job, its costs, and ``listing``: a page of an owner's jobs).
"""

from core.store.artifacts import Artifacts
from core.store.base import PUBLIC_OWNER, connect, npz_to_arrays
from core.store.curve import Curves
from core.store.datasets import DatasetRecord, Datasets, QuotaExceeded, WriteTooLate
from core.store.experiments import ExperimentRecord, Experiments, MemberRef, StackRecord
from core.store.jobs import JobRecord, Jobs
from core.store.stats import Stats
from core.store.submissions import Submissions

__all__ = [
    "PUBLIC_OWNER",
    "DatasetRecord",
    "ExperimentRecord",
    "JobRecord",
    "JobStore",
    "MemberRef",
    "QuotaExceeded",
    "StackRecord",
    "WriteTooLate",
    "connect",
    "npz_to_arrays",
]


class JobStore(Jobs, Curves, Artifacts, Datasets, Experiments, Submissions, Stats):
    """Jobs, their costs, models, checkpoints and cancel flags, and uploaded datasets, in Redis."""
