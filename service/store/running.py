"""Runs, heartbeats and lost workers (the worker's side): ``P:running`` and the run fields of the job hash.

A run beats in ``P:running`` with Redis's clock; a reaper claims a job whose beat is stale (one Lua script,
so exactly one reaper gets it), and re-enqueues a queued job whose enqueue was lost.
"""

from __future__ import annotations

import time
from typing import Any

from service.store.base import QUEUED, RUNNING
from service.store.jobs import Jobs

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


class Runs(Jobs):
    """Start, beat and end a run; find and claim the runs of lost workers; hand back lost enqueues."""

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
