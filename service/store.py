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
"""

from __future__ import annotations

import io
import json
import math
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from redis import Redis

from service.config import Settings
from service.spec import BuiltinDataset, InlineDataset, TrainingSpec
from trainer.errors import DataError

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = "queued", "running", "succeeded", "failed", "canceled"
STATUSES: tuple[str, ...] = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)
FINISHED: frozenset[str] = frozenset({SUCCEEDED, FAILED, CANCELED})
PUBLIC_OWNER = "public"
_ID = re.compile(r"[0-9a-f]{32}")

# KEYS: job hash, then the job's other keys (TTL'd with it). ARGV: new status, allowed old statuses
# (comma-separated), owner-index prefix, TTL seconds (0: keep while active), then field/value pairs.
# Returns the old status (or false for an unknown job) and 1 if the change was made, else 0.
_TRANSITION = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return false end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {cur, 0} end
local info = redis.call('HMGET', KEYS[1], 'id', 'owner', 'created_at')
redis.call('HSET', KEYS[1], 'status', ARGV[1], unpack(ARGV, 5))
local index = ARGV[3] .. info[2] .. ':jobs:'
redis.call('ZREM', index .. cur, info[1])
redis.call('ZADD', index .. ARGV[1], info[3], info[1])
local ttl = tonumber(ARGV[4])
for i = 1, #KEYS do
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) elseif i == 1 then redis.call('PERSIST', KEYS[i]) end
end
return {cur, 1}
"""


def connect(url: str) -> Redis:
    """A client for ``url`` with short timeouts, so an outage is an error within seconds, not a hang."""
    return Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15, retry_on_timeout=False
    )


def arrays_to_npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Arrays as the bytes of an uncompressed ``.npz`` (order kept)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(a) for name, a in arrays.items()})
    return buffer.getvalue()


def npz_to_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz``, refusing pickled object arrays."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


@dataclass(frozen=True)
class JobRecord:
    """One job as stored; times are unix seconds."""

    id: str
    owner: str
    status: str
    spec: dict[str, Any]
    epoch: int
    epochs: int
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool


@dataclass(frozen=True)
class DatasetRecord:
    """One uploaded dataset's metadata."""

    id: str
    owner: str
    created_at: float
    filename: str
    format: str
    n_features: int
    n_examples: int
    summary: dict[str, Any]


@dataclass(frozen=True)
class CostsSnapshot:
    """A job's status and progress with its cost points after some epoch, read together."""

    owner: str
    status: str
    epoch: int
    epochs: int
    points: list[tuple[int, float]]


def _points(members: Iterable[bytes]) -> list[tuple[int, float]]:
    """Cost-set members ``b"{epoch}:{cost}"`` as ``(epoch, cost)``."""
    points = []
    for member in members:
        epoch, cost = member.split(b":", 1)
        points.append((int(epoch), float(cost)))
    return points


def _text(raw: Mapping[bytes, bytes], field: str) -> str | None:
    value = raw.get(field.encode())
    return None if value is None or value == b"" else value.decode()


def _float(raw: Mapping[bytes, bytes], field: str) -> float | None:
    value = _text(raw, field)
    return None if value is None else float(value)


class JobStore:
    """Jobs, their costs, models, checkpoints and cancel flags, and uploaded datasets, in Redis."""

    def __init__(self, redis: Redis, settings: Settings, prefix: str = "descent") -> None:
        self.redis = redis
        self.ttl = settings.result_ttl_seconds
        self.prefix = prefix
        self._transition = redis.register_script(_TRANSITION)

    # ------------------------------------------------------------------------------------------ keys

    def job_key(self, job_id: str, part: str = "") -> str:
        """``P:job:{id}`` or ``P:job:{id}:{part}`` (costs, model, checkpoint, cancel)."""
        return f"{self.prefix}:job:{job_id}" + (f":{part}" if part else "")

    def _jobs_index(self, owner: str, status: str | None = None) -> str:
        return f"{self.prefix}:owner:{owner}:jobs" + (f":{status}" if status else "")

    def _dataset_key(self, dataset_id: str, part: str = "") -> str:
        return f"{self.prefix}:dataset:{dataset_id}" + (f":{part}" if part else "")

    def _datasets_index(self, owner: str) -> str:
        return f"{self.prefix}:owner:{owner}:datasets"

    # ------------------------------------------------------------------------------------------ jobs

    def create_job(self, spec: TrainingSpec, owner: str = PUBLIC_OWNER) -> JobRecord:
        """Store a new queued job; the caller enqueues it."""
        job_id = uuid.uuid4().hex
        now = time.time()
        fields = {
            "id": job_id,
            "owner": owner,
            "status": QUEUED,
            "spec": spec.model_dump_json(),
            "epoch": 0,
            "epochs": spec.epochs,
            "created_at": repr(now),
            "updated_at": repr(now),
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(self.job_key(job_id), mapping=fields)
            pipe.zadd(self._jobs_index(owner), {job_id: now})
            pipe.zadd(self._jobs_index(owner, QUEUED), {job_id: now})
            pipe.execute()
        record = self.get_job(job_id)
        assert record is not None
        return record

    def get_job(self, job_id: str, owner: str | None = None) -> JobRecord | None:
        """The job, or None if unknown, expired, or (``owner`` given) someone else's."""
        if not _ID.fullmatch(job_id):
            return None
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.job_key(job_id))
            pipe.exists(self.job_key(job_id, "cancel"))
            raw, cancel = pipe.execute()
        record = self._record(raw, bool(cancel))
        if record is None or (owner is not None and record.owner != owner):
            return None
        return record

    def _record(self, raw: Mapping[bytes, bytes], cancel: bool) -> JobRecord | None:
        if not raw or b"status" not in raw:
            return None
        result = _text(raw, "result")
        return JobRecord(
            id=_text(raw, "id") or "",
            owner=_text(raw, "owner") or PUBLIC_OWNER,
            status=_text(raw, "status") or QUEUED,
            spec=json.loads(_text(raw, "spec") or "{}"),
            epoch=int(_text(raw, "epoch") or 0),
            epochs=int(_text(raw, "epochs") or 0),
            created_at=_float(raw, "created_at") or 0.0,
            updated_at=_float(raw, "updated_at") or 0.0,
            started_at=_float(raw, "started_at"),
            finished_at=_float(raw, "finished_at"),
            result=None if result is None else json.loads(result),
            error=_text(raw, "error"),
            cancel_requested=cancel,
        )

    def list_jobs(
        self, owner: str = PUBLIC_OWNER, status: str | None = None, offset: int = 0, limit: int = 20
    ) -> tuple[list[JobRecord], int]:
        """One page of the owner's jobs, newest first, and the total count (optionally of one status)."""
        index = self._jobs_index(owner, status)
        for _ in range(3):  # a page that met expired jobs is re-read once they are dropped from the index
            ids = [i.decode() for i in self.redis.zrevrange(index, offset, offset + limit - 1)]
            with self.redis.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hgetall(self.job_key(job_id))
                    pipe.exists(self.job_key(job_id, "cancel"))
                replies = pipe.execute()
            records = [self._record(raw, bool(c)) for raw, c in zip(replies[::2], replies[1::2], strict=True)]
            gone = [job_id for job_id, r in zip(ids, records, strict=True) if r is None]
            if not gone:
                break
            with self.redis.pipeline(transaction=False) as pipe:
                for key in [self._jobs_index(owner), *(self._jobs_index(owner, s) for s in STATUSES)]:
                    pipe.zrem(key, *gone)
                pipe.execute()
        return [r for r in records if r is not None], int(self.redis.zcard(index))

    def get_spec(self, job_id: str) -> TrainingSpec:
        """The job's spec as the shared model (KeyError if the job is unknown)."""
        raw = self.redis.hget(self.job_key(job_id), "spec")
        if raw is None:
            raise KeyError(job_id)
        return TrainingSpec.model_validate_json(raw)

    def transition(self, job_id: str, to: str, allowed_from: Iterable[str], **fields: Any) -> bool:
        """Set status ``to`` (plus ``fields``) if the job's status is one of ``allowed_from``; atomic.

        Stamps ``updated_at``, ``started_at`` on running and ``finished_at`` on a finished status, moves
        the job between the status indexes, and gives a finished job's keys the result TTL.
        """
        now = repr(time.time())
        fields["updated_at"] = now
        if to == RUNNING:
            fields["started_at"] = now
        if to in FINISHED:
            fields["finished_at"] = now
        pairs = [str(v) for kv in fields.items() for v in kv]
        keys = [self.job_key(job_id, p) for p in ("", "costs", "model", "checkpoint", "cancel")]
        ttl = self.ttl if to in FINISHED else 0
        args = [to, ",".join(allowed_from), f"{self.prefix}:owner:", ttl, *pairs]
        reply = self._transition(keys=keys, args=args)
        return bool(reply) and int(reply[1]) == 1

    def mark_running(self, job_id: str) -> bool:
        """queued → running; False if the job is not queued (canceled before it started, or unknown)."""
        return self.transition(job_id, RUNNING, [QUEUED])

    def succeed(self, job_id: str, result: Mapping[str, Any], parameters: Mapping[str, np.ndarray]) -> bool:
        """Store the model, then running → succeeded with ``result`` (JSON)."""
        self.redis.set(self.job_key(job_id, "model"), arrays_to_npz(parameters), ex=self.ttl)
        return self.transition(job_id, SUCCEEDED, [RUNNING], result=json.dumps(dict(result)))

    def fail(self, job_id: str, error: str) -> bool:
        """queued/running → failed with a reason a user understands."""
        return self.transition(job_id, FAILED, [QUEUED, RUNNING], error=error)

    def mark_canceled(self, job_id: str) -> bool:
        """queued/running → canceled (the costs so far are kept)."""
        return self.transition(job_id, CANCELED, [QUEUED, RUNNING])

    def request_cancel(self, job_id: str) -> None:
        """Raise the cancel flag a running job's worker polls."""
        self.redis.set(self.job_key(job_id, "cancel"), b"1", ex=self.ttl)

    def cancel_requested(self, job_id: str) -> bool:
        """True once a cancel was asked for."""
        return bool(self.redis.exists(self.job_key(job_id, "cancel")))

    # ------------------------------------------------------------------------------ progress, costs

    def set_progress(self, job_id: str, epoch: int) -> None:
        """Epochs completed so far (also a heartbeat: ``updated_at``)."""
        self.redis.hset(self.job_key(job_id), mapping={"epoch": epoch, "updated_at": repr(time.time())})

    def append_costs(
        self, job_id: str, points: Iterable[tuple[int, float]], epoch: int | None = None
    ) -> None:
        """Add cost points ``(epoch, cost)`` in one round trip, and the progress if ``epoch`` is given.

        A point replaces any earlier point at the same epoch, so a resumed job never duplicates one.
        """
        key = self.job_key(job_id, "costs")
        with self.redis.pipeline(transaction=False) as pipe:
            for point_epoch, cost in points:
                pipe.zremrangebyscore(key, point_epoch, point_epoch)
                pipe.zadd(key, {f"{int(point_epoch)}:{float(cost)!r}": int(point_epoch)})
            pipe.expire(key, self.ttl)
            if epoch is not None:
                pipe.hset(self.job_key(job_id), mapping={"epoch": epoch, "updated_at": repr(time.time())})
            pipe.execute()

    def drop_costs_after(self, job_id: str, epoch: int) -> None:
        """Remove points after ``epoch``: a job resumed from a checkpoint at ``epoch`` records them again."""
        self.redis.zremrangebyscore(self.job_key(job_id, "costs"), f"({epoch}", "+inf")

    def costs_since(self, job_id: str, since: int = 0, limit: int | None = None) -> list[tuple[int, float]]:
        """Points with epoch > ``since``, oldest first, at most ``limit`` of them."""
        return _points(self.redis.zrangebyscore(*self._costs_range(job_id, since, limit)))

    def costs_page(self, job_id: str, since: int = 0, limit: int | None = None) -> CostsSnapshot | None:
        """The job's status, progress and points after ``since`` in one atomic round trip (so a
        finished status comes with every point), or None for an unknown job."""
        if not _ID.fullmatch(job_id):
            return None
        key, low, high, start, num = self._costs_range(job_id, since, limit)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self.job_key(job_id), ["owner", "status", "epoch", "epochs"])
            pipe.zrangebyscore(key, low, high, start=start, num=num)
            (owner, job_status, epoch, epochs), members = pipe.execute()
        if job_status is None:
            return None
        return CostsSnapshot(owner.decode(), job_status.decode(), int(epoch), int(epochs), _points(members))

    def _costs_range(
        self, job_id: str, since: int, limit: int | None
    ) -> tuple[str, str, str, int | None, int | None]:
        return self.job_key(job_id, "costs"), f"({since}", "+inf", 0 if limit is not None else None, limit

    # -------------------------------------------------------------------------- model, checkpoints

    def get_model_bytes(self, job_id: str) -> bytes | None:
        """The trained parameters as ``.npz`` bytes, or None before the job succeeded."""
        return self.redis.get(self.job_key(job_id, "model"))

    def get_model(self, job_id: str) -> dict[str, np.ndarray] | None:
        """The trained parameters ``W1, b1, … WL, bL``, or None."""
        data = self.get_model_bytes(job_id)
        return None if data is None else npz_to_arrays(data)

    def save_checkpoint(self, job_id: str, data: bytes) -> None:
        """Keep the latest ``trainer.Checkpoint.to_bytes()`` of a running job."""
        self.redis.set(self.job_key(job_id, "checkpoint"), data, ex=self.ttl)

    def load_checkpoint(self, job_id: str) -> bytes | None:
        """The latest checkpoint bytes, or None."""
        return self.redis.get(self.job_key(job_id, "checkpoint"))

    # ------------------------------------------------------------------------------------ datasets

    def create_dataset(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        filename: str,
        source_format: str,
        summary: Mapping[str, Any],
        owner: str = PUBLIC_OWNER,
    ) -> DatasetRecord:
        """Store checked arrays X (n_x, m) and Y (1, m) with their metadata."""
        dataset_id = uuid.uuid4().hex
        now = time.time()
        fields = {
            "id": dataset_id,
            "owner": owner,
            "created_at": repr(now),
            "filename": filename,
            "format": source_format,
            "n_features": int(X.shape[0]),
            "n_examples": int(X.shape[1]),
            "summary": json.dumps(dict(summary)),
        }
        with self.redis.pipeline() as pipe:
            pipe.set(self._dataset_key(dataset_id, "data"), arrays_to_npz({"X": X, "Y": Y}))
            pipe.hset(self._dataset_key(dataset_id), mapping=fields)
            pipe.zadd(self._datasets_index(owner), {dataset_id: now})
            pipe.execute()
        record = self.get_dataset(dataset_id)
        assert record is not None
        return record

    def get_dataset(self, dataset_id: str, owner: str | None = None) -> DatasetRecord | None:
        """The dataset's metadata, or None if unknown or (``owner`` given) someone else's."""
        if not _ID.fullmatch(dataset_id):
            return None
        raw = self.redis.hgetall(self._dataset_key(dataset_id))
        if not raw or (owner is not None and _text(raw, "owner") != owner):
            return None
        return DatasetRecord(
            id=_text(raw, "id") or dataset_id,
            owner=_text(raw, "owner") or PUBLIC_OWNER,
            created_at=_float(raw, "created_at") or 0.0,
            filename=_text(raw, "filename") or "",
            format=_text(raw, "format") or "",
            n_features=int(_text(raw, "n_features") or 0),
            n_examples=int(_text(raw, "n_examples") or 0),
            summary=json.loads(_text(raw, "summary") or "{}"),
        )

    def list_datasets(
        self, owner: str = PUBLIC_OWNER, offset: int = 0, limit: int = 20
    ) -> tuple[list[DatasetRecord], int]:
        """One page of the owner's datasets, newest first, and their count."""
        index = self._datasets_index(owner)
        ids = [i.decode() for i in self.redis.zrevrange(index, offset, offset + limit - 1)]
        records = [self.get_dataset(i) for i in ids]
        return [r for r in records if r is not None], int(self.redis.zcard(index))

    def dataset_arrays(self, dataset_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """X (n_x, m) and Y (1, m) of an uploaded set, or None."""
        data = self.redis.get(self._dataset_key(dataset_id, "data"))
        if data is None:
            return None
        arrays = npz_to_arrays(data)
        return arrays["X"], arrays["Y"]

    def training_data(self, spec: TrainingSpec) -> tuple[np.ndarray, np.ndarray]:
        """The spec's data: generated, inline or uploaded; DataError if an uploaded set is gone."""
        if isinstance(spec.dataset, BuiltinDataset | InlineDataset):
            return spec.dataset.arrays()
        arrays = self.dataset_arrays(spec.dataset.id)
        if arrays is None:
            raise DataError(f"dataset {spec.dataset.id} does not exist (any more)")
        return arrays

    # ---------------------------------------------------------- idempotency keys, rate limits (the API)

    def _idempotency_key(self, owner: str, key_digest: str) -> str:
        return f"{self.prefix}:owner:{owner}:idempotency:{key_digest}"

    def claim_idempotency(self, owner: str, key_digest: str, value: str, ttl: int) -> str | None:
        """Store ``value`` under the owner's idempotency key unless one is there (SET NX, so of two
        concurrent requests exactly one wins): None if this call stored it, else the value found."""
        key = self._idempotency_key(owner, key_digest)
        while not self.redis.set(key, value, nx=True, ex=ttl):
            found = self.redis.get(key)
            if found is not None:  # else it expired between SET and GET: try again
                return found.decode()
        return None

    def set_idempotency(self, owner: str, key_digest: str, value: str, ttl: int) -> None:
        """Overwrite the owner's idempotency key (the claim's final value, with its full TTL)."""
        self.redis.set(self._idempotency_key(owner, key_digest), value, ex=ttl)

    def release_idempotency(self, owner: str, key_digest: str) -> None:
        """Forget a claim whose request failed, so a retry runs afresh."""
        self.redis.delete(self._idempotency_key(owner, key_digest))

    def count_submission(self, owner: str, window_seconds: int = 60) -> tuple[int, int]:
        """Count a job submission of ``owner`` in the current fixed window (one MULTI: INCR, EXPIRE).

        Returns the window's count including this one and the whole seconds until the window ends.
        """
        now = time.time()
        window = int(now // window_seconds)
        key = f"{self.prefix}:owner:{owner}:submissions:{window}"
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * window_seconds)
            count, _ = pipe.execute()
        return int(count), max(1, math.ceil((window + 1) * window_seconds - now))

    # ------------------------------------------------- runs, heartbeats and lost workers (the worker)

    def _running_key(self) -> str:
        return f"{self.prefix}:running"

    def start_run(self, job_id: str, run_id: str, **fields: Any) -> bool:
        """queued → running as run ``run_id`` (a fresh id per attempt), with ``fields`` in the hash.

        The job enters ``P:running`` before its status changes, so a worker lost right after the change
        is still found by a reaper (an entry whose job is not running is dropped by :meth:`claim_lost_run`).
        """
        self.redis.register_script(_BEAT)(keys=[self._running_key(), self.job_key(job_id)], args=[job_id, ""])
        return self.transition(job_id, RUNNING, [QUEUED], run=run_id, **fields)

    def heartbeat(self, job_id: str, run_id: str) -> bool:
        """While ``run_id`` is the job's run: refresh ``updated_at`` and its ``P:running`` score (Redis's
        clock, so workers' clocks don't matter). False once it is not (reaped, canceled or finished)."""
        keys = [self._running_key(), self.job_key(job_id)]
        return bool(self.redis.register_script(_BEAT)(keys=keys, args=[job_id, run_id]))

    def end_run(self, job_id: str) -> None:
        """Take a job that left ``running`` out of ``P:running``."""
        self.redis.zrem(self._running_key(), job_id)

    def stale_runs(self, seconds: float) -> list[str]:
        """Ids in ``P:running`` whose last heartbeat is more than ``seconds`` old (Redis's clock)."""
        ids = self.redis.register_script(_STALE)(keys=[self._running_key()], args=[seconds])
        return [i.decode() for i in ids]

    def claim_lost_run(self, job_id: str, seconds: float, lease: float) -> tuple[int, float, str] | None:
        """Take a running job whose heartbeat is more than ``seconds`` old for recovery (one Lua script,
        so of several reapers exactly one gets it): count the loss in ``workers_lost``, clear ``run`` (the
        lost run, if it still lives, stops at its next heartbeat) and hold the entry for ``lease`` seconds.

        Returns ``(workers_lost, last heartbeat (unix s), the lost run's RQ job id)``, or None if the job
        is not stale (any more); an entry whose job is not running is dropped.
        """
        keys = [self._running_key(), self.job_key(job_id)]
        reply = self.redis.register_script(_CLAIM)(keys=keys, args=[job_id, seconds, lease])
        if not reply:
            return None
        lost, last_seen, rq_job = reply
        return int(lost), float(last_seen), rq_job.decode()

    def save_run_state(self, job_id: str, checkpoint: bytes, run_seconds: float) -> None:
        """The latest checkpoint and the training seconds that produced it (across attempts), together."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.job_key(job_id, "checkpoint"), checkpoint, ex=self.ttl)
            pipe.hset(self.job_key(job_id), "run_seconds", repr(run_seconds))
            pipe.execute()

    def run_seconds(self, job_id: str) -> float:
        """Training seconds up to the job's latest checkpoint (0 before the first)."""
        value = self.redis.hget(self.job_key(job_id), "run_seconds")
        return 0.0 if value is None else float(value)

    def set_time_limit(self, job_id: str, seconds: float) -> None:
        """Note the job's wall-clock limit (``timeout_seconds``), derived by the worker from its size."""
        self.redis.hset(self.job_key(job_id), "timeout_seconds", repr(seconds))

    def idle_queued_jobs(self, seconds: float) -> list[tuple[str, str]]:
        """Queued jobs of every owner unchanged for ``seconds`` (``updated_at``), with the id of the RQ job
        that should run each (``rq_job``, else the job id): the candidates for a lost enqueue."""
        found = []
        cutoff = time.time() - seconds
        for index in self.redis.scan_iter(match=self._jobs_index("*", QUEUED), count=1000):
            ids = [i.decode() for i in self.redis.zrangebyscore(index, "-inf", cutoff)]
            with self.redis.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hmget(self.job_key(job_id), ["status", "updated_at", "rq_job"])
                replies = pipe.execute()
            for job_id, (status, updated_at, rq_job) in zip(ids, replies, strict=True):
                if status == QUEUED.encode() and updated_at is not None and float(updated_at) < cutoff:
                    found.append((job_id, rq_job.decode() if rq_job else job_id))
        return found

    def swap_rq_job(self, job_id: str, expected: str, new: str) -> bool:
        """While the job is queued for RQ job ``expected``, make it ``new`` (atomic: of several callers
        exactly one wins); stamps ``updated_at``."""
        keys = [self.job_key(job_id)]
        return bool(self.redis.register_script(_SWAP)(keys=keys, args=[job_id, expected, new]))


# KEYS: P:running, the job hash. ARGV: job id, run id ('' registers the job before it starts running).
# With a run id, beats only while the job is running as that run; returns 1 if it beat, else 0.
_BEAT = """
local t = redis.call('TIME')
local now = string.format('%.6f', t[1] + t[2] / 1000000)
if ARGV[2] ~= '' then
  local h = redis.call('HMGET', KEYS[2], 'status', 'run')
  if h[1] ~= 'running' or h[2] ~= ARGV[2] then return 0 end
  redis.call('HSET', KEYS[2], 'updated_at', now)
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1
"""

# KEYS: P:running. ARGV: seconds. The ids whose score is older than that by Redis's clock.
_STALE = """
local t = redis.call('TIME')
local cutoff = t[1] + t[2] / 1000000 - tonumber(ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.6f', cutoff))
"""

# KEYS: P:running, the job hash. ARGV: job id, seconds, lease. See JobStore.claim_lost_run.
_CLAIM = """
local t = redis.call('TIME')
local now = t[1] + t[2] / 1000000
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) >= now - tonumber(ARGV[2]) then return false end
local h = redis.call('HMGET', KEYS[2], 'status', 'rq_job')
if h[1] ~= 'running' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return false
end
redis.call('ZADD', KEYS[1], string.format('%.6f', now + tonumber(ARGV[3])), ARGV[1])
local lost = redis.call('HINCRBY', KEYS[2], 'workers_lost', 1)
redis.call('HSET', KEYS[2], 'run', '')
return {lost, score, h[2] or ''}
"""

# KEYS: the job hash. ARGV: job id, expected RQ job id, new RQ job id. See JobStore.swap_rq_job.
_SWAP = """
local h = redis.call('HMGET', KEYS[1], 'status', 'rq_job')
local current = h[2]
if not current or current == '' then current = ARGV[1] end
if h[1] ~= 'queued' or current ~= ARGV[2] then return 0 end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'rq_job', ARGV[3], 'updated_at', string.format('%.6f', t[1] + t[2] / 1000000))
return 1
"""
