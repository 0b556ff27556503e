"""The Redis layout of jobs and datasets, shared by the API and the worker (``docs/redis-layout.md``).

Keys (``P`` is the prefix, ``descent`` by default; ``{owner}`` is the job's owner, ``public`` without keys):

====================================  ======  =============================================  ==============
key                                   type    holds                                          TTL
====================================  ======  =============================================  ==============
``P:job:{id}``                        hash    id, owner, status, spec (JSON), epoch,         none while
                                              epochs, created_at, started_at, finished_at,   queued/running;
                                              updated_at (unix s), result (JSON), error;     result TTL once
                                              the worker's run, rq_job, timeout_seconds,     finished
                                              run_seconds, workers_lost
``P:job:{id}:costs``                  zset    member ``"{epoch}:{repr(cost)}"``, score       result TTL,
                                              epoch: ``since=N`` is one ZRANGEBYSCORE        refreshed
``P:job:{id}:model``                  string  npz of W1, b1, … WL, bL                        result TTL
``P:job:{id}:checkpoint``             string  ``trainer.Checkpoint.to_bytes()`` (npz)        result TTL
``P:job:{id}:cancel``                 string  ``"1"`` once a cancel was asked for            result TTL
``P:owner:{owner}:jobs``              zset    job ids, score created_at (newest first)       none
``P:owner:{owner}:jobs:{status}``     zset    the same, one set per status (filter)          none
``P:dataset:{id}``                    hash    id, owner, created_at, filename, format,       none
                                              n_features, n_examples, summary (JSON)
``P:dataset:{id}:data``               string  npz of X (n_x, m) float64 and Y (1, m)         none
``P:owner:{owner}:datasets``          zset    dataset ids, score created_at                  none
``P:running``                         zset    running job ids, score = last heartbeat        none
                                              (Redis's clock): the reapers' index
``P:owner:{owner}:idempotency:{h}``   string  JSON fingerprint and job id; h = sha256(key)   idempotency TTL
``P:owner:{owner}:submissions:{m}``   string  submissions counted in unix minute m           120 s
====================================  ======  =============================================  ==============

The result TTL is ``settings.result_ttl_seconds`` (7 days by default). Index entries whose job expired are
dropped lazily when a listing meets them. Nothing is pickled: specs and results are JSON, arrays are npz
read with ``np.load(allow_pickle=False)``. Status changes go through one Lua script, so a change is atomic
and only allowed from the expected statuses (a canceled job never becomes running).

What the worker (``worker.tasks.run_job(job_id)``) must do, through this class only:

1. ``start_run(job_id, run_id)`` (``mark_running`` plus the run's entry in ``P:running``); if it returns
   False the job was canceled (or is unknown): return at once. Then ``heartbeat(job_id, run_id)`` every
   second until the end; once it returns False a reaper gave the job to another run: stop, write nothing.
2. ``spec = get_spec(job_id)``; ``X, Y = training_data(spec)`` (a ``DataError`` if an uploaded set is
   gone); train with ``spec.to_train_config()``.
3. While training: ``append_costs(job_id, points, epoch=...)`` in batches (at most ~10 flushes a second;
   it also records progress), and ``cancel_requested(job_id)`` from ``should_stop`` (throttled, e.g. at
   most every 0.1 s). ``save_run_state`` (or ``save_checkpoint``) every few seconds lets a lost job
   resume; a job resumed from a checkpoint at epoch E calls ``drop_costs_after(job_id, E)`` first.
4. At the end exactly one of: ``succeed(job_id, result, parameters)`` with ``result`` =
   ``{"accuracy", "validation_accuracy", "final_cost", "seconds", "epochs_completed", "steps"}``;
   ``mark_canceled(job_id)`` when stopped by a cancel; ``fail(job_id, reason)`` with a reason a user
   understands (``"diverged at epoch N"``, a data error's message); then ``end_run(job_id)``.

The parts of :class:`JobStore`, one module each: ``base`` (statuses, client, key names, npz), ``jobs``
(records and status changes), ``costs``, ``artifacts`` (model, checkpoint), ``datasets``, ``submissions``
(idempotency keys, rate counters) and ``running`` (runs, heartbeats, lost workers).
"""

from service.store.artifacts import Artifacts
from service.store.base import (
    CANCELED,
    FINISHED,
    PUBLIC_OWNER,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    connect,
    npz_to_arrays,
)
from service.store.costs import Costs
from service.store.datasets import DatasetRecord, Datasets
from service.store.jobs import JobRecord
from service.store.running import Runs
from service.store.submissions import Submissions

__all__ = [
    "CANCELED",
    "FINISHED",
    "PUBLIC_OWNER",
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "DatasetRecord",
    "JobRecord",
    "JobStore",
    "connect",
    "npz_to_arrays",
]


class JobStore(Runs, Costs, Artifacts, Datasets, Submissions):
    """Jobs, their costs, models, checkpoints and cancel flags, and uploaded datasets, in Redis."""
