"""Job records: create, read and list them, and change their status atomically."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from redis.client import Pipeline

from core.keys import Keys
from core.spec import TrainingSpec
from core.spec.summary import summary_of
from core.statuses import CANCELED, FAILED, FINISHED, QUEUED, RUNNING, STATUSES, SUCCEEDED
from core.store.base import ID, KEPT_BYTES, PUBLIC_OWNER, StoreBase, arrays_to_npz
from core.store.scripts import helpers, lua
from core.store.stats import job_count_field

# KEYS: the job's keys (``Keys.job_parts``: the hash first, its events stream second), then the owner's
# status indexes (``STATUSES`` order), then ``P:stats`` (its ``jobs:{status}`` counts move with the job).
# ARGV: new status, allowed old statuses (comma-separated), TTL seconds (0: keep while active), the run
# that must own the job ('' for any), the statuses (comma-separated), the ``status`` event's data (JSON),
# the events stream's MAXLEN, then field/value pairs.
# Returns the old status (false for an unknown job) and 1 if the change was made, else 0.
_TRANSITION = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return false end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'run') ~= ARGV[4] then return {cur, 0} end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {cur, 0} end
local info = redis.call('HMGET', KEYS[1], 'id', 'created_at')
redis.call('HSET', KEYS[1], 'status', ARGV[1], unpack(ARGV, 8))
local n_statuses = 0
for _ in string.gmatch(ARGV[5], '[^,]+') do n_statuses = n_statuses + 1 end
local parts = #KEYS - n_statuses - 1
local i = 0
for s in string.gmatch(ARGV[5], '[^,]+') do
  i = i + 1
  if s == cur then redis.call('ZREM', KEYS[parts + i], info[1]) end
  if s == ARGV[1] then redis.call('ZADD', KEYS[parts + i], info[2], info[1]) end
end
add_event(KEYS[2], ARGV[7], last_seq(KEYS[2]) + 1, 'status', ARGV[6], now_micros())
local ttl = tonumber(ARGV[3])
for j = 1, parts do
  if ttl > 0 then redis.call('EXPIRE', KEYS[j], ttl) elseif j == 1 then redis.call('PERSIST', KEYS[j]) end
end
redis.call('HINCRBY', KEYS[#KEYS], 'jobs:' .. cur, -1)
redis.call('HINCRBY', KEYS[#KEYS], 'jobs:' .. ARGV[1], 1)
return {cur, 1}
"""


def status_data(status: str, error: str | None = None, result: str | None = None) -> str:
    """The JSON of a ``status`` event: ``{"status"}``, with ``error`` (text) and ``result`` (the stored
    result's JSON, embedded as an object) when given."""
    body: dict[str, Any] = {"status": status}
    if error is not None:
        body["error"] = error
    if result is not None:
        body["result"] = json.loads(result)
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class JobRecord:
    """One job as stored; times are unix seconds.

    The spec and the result are kept as the JSON they are stored as (``spec_json``: the validated spec's
    ``TrainingSpec.model_dump_json()``, its public form; ``result_json``: the worker's ``json.dumps``) and
    parsed only when :attr:`spec` or :attr:`result` is read, so a poll that serves them as they are stored
    never parses them.
    """

    id: str
    owner: str
    status: str
    spec_json: str
    epoch: int
    epochs: int
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    result_json: str | None
    error: str | None
    cancel_requested: bool
    timeout_seconds: float | None = None
    workers_lost: int | None = None
    experiment_id: str | None = None
    label: str | None = None
    stack: str | None = None
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """What readers derive from the record and keep with it (the API keeps its JSON): the reads of one
    stored state of the job share one record (:func:`records_of`)."""

    @cached_property
    def spec(self) -> dict[str, Any]:
        """The spec as stored (plain JSON values)."""
        return json.loads(self.spec_json)

    @cached_property
    def result(self) -> dict[str, Any] | None:
        """A succeeded job's result as stored, else None."""
        return None if self.result_json is None else json.loads(self.result_json)


def record_of(fields: Mapping[str, str], cancel: bool) -> JobRecord | None:
    """The job of its hash's fields (as text, empty ones left out: :func:`hash_fields`) and whether its
    cancel flag is set; None without a status (an unknown job)."""
    get = fields.get
    if "status" not in fields:
        return None
    started_at, finished_at = get("started_at"), get("finished_at")
    timeout_seconds, workers_lost = get("timeout_seconds"), get("workers_lost")
    return JobRecord(
        id=get("id", ""),
        owner=get("owner", PUBLIC_OWNER),
        status=fields["status"],
        spec_json=get("spec", "{}"),
        epoch=int(get("epoch", 0)),
        epochs=int(get("epochs", 0)),
        created_at=float(get("created_at", 0.0)),
        updated_at=float(get("updated_at", 0.0)),
        started_at=None if started_at is None else float(started_at),
        finished_at=None if finished_at is None else float(finished_at),
        result_json=get("result"),
        error=get("error"),
        cancel_requested=cancel,
        timeout_seconds=None if timeout_seconds is None else float(timeout_seconds),
        workers_lost=None if workers_lost is None else int(workers_lost),
        experiment_id=get("experiment_id"),
        label=get("label"),
        stack=get("stack"),
    )


def hash_fields(flat: Sequence[bytes]) -> dict[str, str]:
    """A hash's ``HGETALL`` as a Lua script returns it (field, value, …) as text, empty values left out."""
    return {name.decode(): value.decode() for name, value in zip(flat[::2], flat[1::2], strict=True) if value}


def job_read_keys(keys: Keys, job_ids: Iterable[str]) -> list[str]:
    """The ``KEYS`` of ``scripts/read_jobs.lua`` for these jobs: each one's hash, then its cancel flag."""
    return [key for job_id in job_ids for key in (keys.job(job_id), keys.cancel(job_id))]


RECORDS_KEPT = 1024
"""Records :func:`records_of` keeps, by stored state, so that a job unchanged since its last read is not
parsed again (nor, by the API, serialised again: ``JobRecord.derived``)."""


def records_of(reply: Sequence[Any]) -> list[JobRecord | None]:
    """The jobs of ``scripts/read_jobs.lua``'s reply (None for one that is gone); a job read in the same
    state (the same fields and cancel flag) as one of the last ``RECORDS_KEPT`` reads is the same record."""
    return [
        kept_record(hash_fields, fields, bool(c)) for fields, c in zip(reply[::2], reply[1::2], strict=True)
    ]


def kept_record(
    parse: Callable[[Sequence[bytes]], dict[str, str]], fields: Sequence[bytes], cancel: bool
) -> JobRecord | None:
    """The job of ``fields`` as a script read them, ``parse`` giving their text (:func:`hash_fields`), and
    its cancel flag; the same record as the last of ``RECORDS_KEPT`` reads of that state (reads of under
    ``KEPT_BYTES``)."""
    if sum(map(len, fields)) > KEPT_BYTES:
        return record_of(parse(fields), cancel)
    return _kept_record(parse, tuple(fields), cancel)


def _changed(reply: Any) -> bool:
    """Whether ``_TRANSITION``'s reply says the change was made."""
    return bool(reply) and int(reply[1]) == 1


@lru_cache(maxsize=RECORDS_KEPT)
def _kept_record(
    parse: Callable[[Sequence[bytes]], dict[str, str]], fields: tuple[bytes, ...], cancel: bool
) -> JobRecord | None:
    return record_of(parse(fields), cancel)


class Jobs(StoreBase):
    """``P:job:{id}``, its cancel flag and the owner's job indexes."""

    def create_job(
        self,
        spec: TrainingSpec,
        owner: str = PUBLIC_OWNER,
        pipe: Pipeline | None = None,
        job_id: str | None = None,
        **member: str,
    ) -> JobRecord:
        """Store a new queued job (in ``pipe`` when given, which the caller executes) and return it;
        ``member`` holds an experiment member's ``experiment_id``, ``label`` and ``stack``."""
        job_id = job_id or uuid.uuid4().hex
        now = time.time()
        fields = {
            **member,
            "id": job_id,
            "owner": owner,
            "status": QUEUED,
            "spec": spec.model_dump_json(),
            "spec_summary": json.dumps(summary_of(spec)),
            "epoch": 0,
            "epochs": spec.epochs,
            "created_at": repr(now),
            "updated_at": repr(now),
        }
        with self.redis.pipeline() as own:
            target = own if pipe is None else pipe
            target.hset(self.keys.job(job_id), mapping=fields)
            target.zadd(self.keys.owner_jobs(owner), {job_id: now})
            target.zadd(self.keys.owner_jobs(owner, QUEUED), {job_id: now})
            target.hincrby(self.keys.stats(), job_count_field(QUEUED), 1)
            status = {"event": "status", "data": status_data(QUEUED), "at": str(int(now * 1e6))}
            target.xadd(self.keys.events(job_id), status, id="0-1")
            target.expire(self.keys.events(job_id), self.ttl)
            if pipe is None:
                own.execute()
        record = record_of({k: str(v) for k, v in fields.items() if str(v)}, cancel=False)
        assert record is not None
        return record

    def get_job(self, job_id: str, owner: str | None = None) -> JobRecord | None:
        """The job, or None if unknown, expired, or (``owner`` given) someone else's."""
        if not ID.fullmatch(job_id):
            return None
        (record,) = self.get_jobs([job_id])
        if record is None or (owner is not None and record.owner != owner):
            return None
        return record

    def get_jobs(self, job_ids: Sequence[str]) -> list[JobRecord | None]:
        """Several jobs in one round trip (None for an unknown one)."""
        return records_of(self._read_jobs(job_ids))

    def _read_jobs(self, job_ids: Sequence[str]) -> list[Any]:
        if not job_ids:
            return []
        return self.redis.register_script(lua("read_jobs"))(keys=job_read_keys(self.keys, job_ids))

    def statuses(self, job_ids: Sequence[str]) -> list[str | None]:
        """Each job's status (None for an unknown one), in one round trip, without reading the records."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "status")
            return [None if s is None else s.decode() for s in pipe.execute()]

    def count_active(self, owner: str) -> int:
        """How many of the owner's jobs are queued or running (two ZCARDs in one round trip)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.owner_jobs(owner, QUEUED))
            pipe.zcard(self.keys.owner_jobs(owner, RUNNING))
            return sum(pipe.execute())

    def get_spec(self, job_id: str) -> TrainingSpec:
        """The job's spec as the shared model (KeyError if the job is unknown)."""
        (spec,) = self.get_specs([job_id])
        return spec

    def get_specs(self, job_ids: Sequence[str]) -> list[TrainingSpec]:
        """:meth:`get_spec` for several jobs in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "spec")
            raws = pipe.execute()
        for job_id, raw in zip(job_ids, raws, strict=True):
            if raw is None:
                raise KeyError(job_id)
        return [TrainingSpec.model_validate_json(raw) for raw in raws]

    def transition(
        self,
        job_id: str,
        to: str,
        allowed_from: Iterable[str],
        *,
        owned_by: str = "",
        pipe: Pipeline | None = None,
        **fields: Any,
    ) -> bool:
        """Set status ``to`` (plus ``fields``) if the job's status is one of ``allowed_from`` and
        (``owned_by`` given) the job is that run's; atomic. In ``pipe`` (a MULTI the caller executes) it
        returns True and the change happens, or not, when the pipeline runs.

        Stamps ``updated_at``, ``started_at`` on running and ``finished_at`` on a finished status, moves
        the job between the status indexes, adds a ``status`` event to the job's events, and gives a
        finished job's keys the result TTL.
        """
        owner = self.redis.hget(self.keys.job(job_id), "owner")
        if owner is None:
            return False
        script = self.redis.register_script(helpers() + _TRANSITION)
        keys, args = self._transition_call(job_id, owner.decode(), to, allowed_from, owned_by, fields)
        if pipe is not None:
            script(keys=keys, args=args, client=pipe)
            return True
        return _changed(script(keys=keys, args=args))

    def _transition_call(
        self, job_id: str, owner: str, to: str, allowed_from: Iterable[str], owned_by: str, fields: dict
    ) -> tuple[list[str], list[Any]]:
        """The keys and arguments of ``_TRANSITION`` for the job of ``owner``."""
        now = repr(time.time())
        fields["updated_at"] = now
        if to == RUNNING:
            fields["started_at"] = now
        if to in FINISHED:
            fields["finished_at"] = now
        event = status_data(to, fields.get("error"), fields.get("result"))
        pairs = [str(v) for kv in fields.items() for v in kv]
        keys = [*self.keys.job_parts(job_id), *self.keys.status_indexes(owner), self.keys.stats()]
        ttl = self.ttl if to in FINISHED else 0
        args = [
            to,
            ",".join(allowed_from),
            ttl,
            owned_by,
            ",".join(STATUSES),
            event,
            self.events_max_len,
            *pairs,
        ]
        return keys, args

    def start_run(self, job_id: str, run: str, rq_job: str) -> bool:
        """queued → running as run ``run`` (a fresh id per attempt) of RQ job ``rq_job``; False if the job
        is not queued (canceled before it started, or unknown)."""
        return self.transition(job_id, RUNNING, [QUEUED], run=run, rq_job=rq_job)

    def start_runs(self, job_ids: Sequence[str], run: str, rq_job: str) -> list[str]:
        """:meth:`start_run` for several jobs (a stack's members) in two round trips, each change atomic;
        the jobs that started, in order."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "owner")
            owners = pipe.execute()
        known = [(job_id, owner.decode()) for job_id, owner in zip(job_ids, owners, strict=True) if owner]
        script = self.redis.register_script(helpers() + _TRANSITION)
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id, owner in known:
                fields = {"run": run, "rq_job": rq_job}
                keys, args = self._transition_call(job_id, owner, RUNNING, [QUEUED], "", fields)
                script(keys=keys, args=args, client=pipe)
            replies = pipe.execute()
        return [job_id for (job_id, _), reply in zip(known, replies, strict=True) if _changed(reply)]

    def runs_of(self, job_ids: Sequence[str]) -> list[tuple[str | None, bool]]:
        """For each job, the run that owns it (None if none does) and whether a cancel was asked for; one
        command (``scripts/runs_of.lua``), which costs the caller far less than a pipeline of two per job."""
        keys = [key for job_id in job_ids for key in (self.keys.job(job_id), self.keys.cancel(job_id))]
        replies = self.redis.register_script(lua("runs_of"))(keys=keys) if keys else []
        return [
            (run.decode() if run else None, bool(cancel))
            for run, cancel in zip(replies[::2], replies[1::2], strict=True)
        ]

    def succeed(
        self, job_id: str, result: Mapping[str, Any], parameters: Mapping[str, np.ndarray], run: str = ""
    ) -> bool:
        """Store the model, then running → succeeded with ``result`` (JSON)."""
        self.redis.set(self.keys.model(job_id), arrays_to_npz(parameters), ex=self.ttl)
        return self.transition(job_id, SUCCEEDED, [RUNNING], owned_by=run, result=json.dumps(dict(result)))

    def succeed_all(
        self, ends: Mapping[str, tuple[Mapping[str, Any], Mapping[str, np.ndarray]]], run: str
    ) -> list[bool]:
        """:meth:`succeed` for several jobs of run ``run`` (job id → result, parameters: a stack's members
        that ended together) in two round trips, each job's model stored before its status changes."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ends:
                pipe.hget(self.keys.job(job_id), "owner")
            owners = dict(zip(ends, pipe.execute(), strict=True))
        script = self.redis.register_script(helpers() + _TRANSITION)
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id, (result, parameters) in ends.items():
                pipe.set(self.keys.model(job_id), arrays_to_npz(parameters), ex=self.ttl)
                if owners[job_id] is not None:
                    fields = {"result": json.dumps(dict(result))}
                    call = self._transition_call(
                        job_id, owners[job_id].decode(), SUCCEEDED, [RUNNING], run, fields
                    )
                    script(keys=call[0], args=call[1], client=pipe)
            replies = iter(pipe.execute())
        changed = []
        for job_id in ends:
            next(replies)  # the model's SET
            changed.append(owners[job_id] is not None and _changed(next(replies)))
        return changed

    def fail(self, job_id: str, error: str, run: str = "") -> bool:
        """queued/running → failed with a reason a user understands."""
        return self.transition(job_id, FAILED, [QUEUED, RUNNING], owned_by=run, error=error)

    def mark_canceled(self, job_id: str, run: str = "") -> bool:
        """queued/running → canceled (the costs so far are kept)."""
        return self.transition(job_id, CANCELED, [QUEUED, RUNNING], owned_by=run)

    def request_cancel(self, job_id: str) -> None:
        """Raise the cancel flag a running job's worker polls."""
        self.redis.set(self.keys.cancel(job_id), b"1", ex=self.ttl)

    def set_time_limit(self, job_id: str, seconds: float) -> None:
        """Note the job's wall-clock limit (``timeout_seconds``), derived by the worker from its size."""
        self.set_time_limits([job_id], seconds)

    def set_time_limits(self, job_ids: Sequence[str], seconds: float) -> None:
        """:meth:`set_time_limit` for several jobs (a stack's members) in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hset(self.keys.job(job_id), "timeout_seconds", repr(seconds))
            pipe.execute()

    def count_lost_worker(self, job_id: str) -> int:
        """One more lost worker for the job; how many so far."""
        return int(self.redis.hincrby(self.keys.job(job_id), "workers_lost", 1))

    def workers_lost(self, job_id: str) -> int:
        """How many times the job's worker was lost."""
        return int(self.redis.hget(self.keys.job(job_id), "workers_lost") or 0)
