"""Job records: create, read and list them, and change their status atomically."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.spec import TrainingSpec
from service.store.base import (
    CANCELED,
    FAILED,
    FINISHED,
    ID,
    PUBLIC_OWNER,
    QUEUED,
    RUNNING,
    STATUSES,
    SUCCEEDED,
    StoreBase,
    arrays_to_npz,
    number,
    text,
)

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
    timeout_seconds: float | None = None
    workers_lost: int | None = None


def _record(raw: Mapping[bytes, bytes], cancel: bool) -> JobRecord | None:
    if not raw or b"status" not in raw:
        return None
    result = text(raw, "result")
    workers_lost = text(raw, "workers_lost")
    return JobRecord(
        id=text(raw, "id") or "",
        owner=text(raw, "owner") or PUBLIC_OWNER,
        status=text(raw, "status") or QUEUED,
        spec=json.loads(text(raw, "spec") or "{}"),
        epoch=int(text(raw, "epoch") or 0),
        epochs=int(text(raw, "epochs") or 0),
        created_at=number(raw, "created_at") or 0.0,
        updated_at=number(raw, "updated_at") or 0.0,
        started_at=number(raw, "started_at"),
        finished_at=number(raw, "finished_at"),
        result=None if result is None else json.loads(result),
        error=text(raw, "error"),
        cancel_requested=cancel,
        timeout_seconds=number(raw, "timeout_seconds"),
        workers_lost=None if workers_lost is None else int(workers_lost),
    )


class Jobs(StoreBase):
    """``P:job:{id}``, its cancel flag and the owner's job indexes."""

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
        if not ID.fullmatch(job_id):
            return None
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.job_key(job_id))
            pipe.exists(self.job_key(job_id, "cancel"))
            raw, cancel = pipe.execute()
        record = _record(raw, bool(cancel))
        if record is None or (owner is not None and record.owner != owner):
            return None
        return record

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
            records = [_record(raw, bool(c)) for raw, c in zip(replies[::2], replies[1::2], strict=True)]
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
        reply = self.redis.register_script(_TRANSITION)(keys=keys, args=args)
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
