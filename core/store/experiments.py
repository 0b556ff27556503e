"""Experiments and the stacks their members train in: ``P:experiment:{id}``, ``P:stack:{id}``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.client import Pipeline

from core.statuses import FINISHED
from core.store.base import ID, PUBLIC_OWNER, StoreBase, number, text

LISTED_FIELDS = ("id", "owner", "name", "created_at", "members")
"""The fields a listing reads: all but the request."""


@dataclass(frozen=True)
class MemberRef:
    """A member of an experiment: its job, its label and the values it varies (dotted path → value)."""

    job_id: str
    label: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ExperimentRecord:
    """One experiment as stored; its members' state is in their job records."""

    id: str
    owner: str
    name: str
    created_at: float
    request: dict[str, Any]
    members: list[MemberRef]


@dataclass(frozen=True)
class StackRecord:
    """Member jobs trained as one computation, in stack order."""

    id: str
    experiment_id: str
    members: list[str]


class Experiments(StoreBase):
    """Create, read and list experiments; the stacks of their members; a stack's checkpoint."""

    def create_experiment(
        self, name: str, request: dict[str, Any], members: Sequence[MemberRef], owner: str, pipe: Pipeline
    ) -> ExperimentRecord:
        """Store a new experiment in ``pipe`` (a MULTI the caller executes)."""
        experiment_id = uuid.uuid4().hex
        now = time.time()
        fields = {
            "id": experiment_id,
            "owner": owner,
            "name": name,
            "created_at": repr(now),
            "request": json.dumps(request),
            "members": json.dumps([vars(member) for member in members]),
        }
        pipe.hset(self.keys.experiment(experiment_id), mapping=fields)
        pipe.zadd(self.keys.owner_experiments(owner), {experiment_id: now})
        return ExperimentRecord(experiment_id, owner, name, now, request, list(members))

    def get_experiment(self, experiment_id: str, owner: str | None = None) -> ExperimentRecord | None:
        """The experiment, or None if unknown, expired, or (``owner`` given) someone else's."""
        if not ID.fullmatch(experiment_id):
            return None
        return _experiment(self.redis.hgetall(self.keys.experiment(experiment_id)), owner)

    def list_experiments(
        self, owner: str = PUBLIC_OWNER, offset: int = 0, limit: int = 20
    ) -> tuple[list[ExperimentRecord], int]:
        """One page of the owner's experiments, newest first, and how many there are.

        The records are read without their request (``request`` is ``{}``: it may carry inline data).
        Ids of experiments that expired are dropped from the owner's index first: an experiment expires
        ``result_ttl_seconds`` after its last member finished, so only those created before that long ago
        are checked. The total counts only experiments that exist.
        """
        index = self.keys.owner_experiments(owner)
        cutoff = time.time() - self.ttl
        old = [i.decode() for i in self.redis.zrangebyscore(index, "-inf", cutoff)]
        if old:
            with self.redis.pipeline(transaction=False) as pipe:
                for experiment_id in old:
                    pipe.exists(self.keys.experiment(experiment_id))
                gone = [i for i, exists in zip(old, pipe.execute(), strict=True) if not exists]
            if gone:
                self.redis.zrem(index, *gone)
        ids = [i.decode() for i in self.redis.zrevrange(index, offset, offset + limit - 1)]
        with self.redis.pipeline(transaction=False) as pipe:
            for experiment_id in ids:
                pipe.hmget(self.keys.experiment(experiment_id), LISTED_FIELDS)
            replies = pipe.execute()
        raws = [
            {k.encode(): v for k, v in zip(LISTED_FIELDS, values, strict=True) if v is not None}
            for values in replies
        ]
        records = [_experiment(raw, owner) for raw in raws]
        gone = [i for i, record in zip(ids, records, strict=True) if record is None]
        if gone:
            self.redis.zrem(index, *gone)
        return [r for r in records if r is not None], int(self.redis.zcard(index))

    def expire_if_finished(self, experiment_id: str) -> bool:
        """Give the experiment's record the result TTL once every member finished; whether it did."""
        record = self.get_experiment(experiment_id)
        if record is None:
            return False
        with self.redis.pipeline(transaction=False) as pipe:
            for member in record.members:
                pipe.hget(self.keys.job(member.job_id), "status")
            statuses = pipe.execute()
        if any(status is not None and status.decode() not in FINISHED for status in statuses):
            return False
        self.redis.expire(self.keys.experiment(experiment_id), self.ttl)
        return True

    def create_stack(
        self, stack_id: str, experiment_id: str, members: Sequence[str], pipe: Pipeline
    ) -> StackRecord:
        """Store stack ``stack_id`` of ``members`` (job ids) in ``pipe``."""
        fields = {"id": stack_id, "experiment_id": experiment_id, "members": json.dumps(list(members))}
        pipe.hset(self.keys.stack(stack_id), mapping=fields)
        return StackRecord(stack_id, experiment_id, list(members))

    def get_stack(self, stack_id: str) -> StackRecord | None:
        """The stack, or None."""
        raw = self.redis.hgetall(self.keys.stack(stack_id))
        if not raw:
            return None
        return StackRecord(
            text(raw, "id") or stack_id,
            text(raw, "experiment_id") or "",
            json.loads(text(raw, "members") or "[]"),
        )

    def load_stack_checkpoint(self, stack_id: str) -> bytes | None:
        """The stack's latest checkpoint bytes, or None."""
        return self.redis.get(self.keys.stack_checkpoint(stack_id))

    def save_stack_state(self, stack_id: str, checkpoint: bytes, run_seconds: float) -> None:
        """The stack's latest checkpoint and the training seconds behind it, together."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.stack_checkpoint(stack_id), checkpoint, ex=self.ttl)
            pipe.hset(self.keys.stack(stack_id), "run_seconds", repr(run_seconds))
            pipe.execute()

    def stack_run_seconds(self, stack_id: str) -> float:
        """Training seconds up to the stack's latest checkpoint (0 before the first)."""
        return number(self.redis.hgetall(self.keys.stack(stack_id)), "run_seconds") or 0.0

    def expire_stack(self, stack_id: str) -> None:
        """Give a finished stack's keys the result TTL."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.expire(self.keys.stack(stack_id), self.ttl)
            pipe.expire(self.keys.stack_checkpoint(stack_id), self.ttl)
            pipe.execute()


def _experiment(raw: dict[bytes, bytes], owner: str | None) -> ExperimentRecord | None:
    if not raw or (owner is not None and text(raw, "owner") != owner):
        return None
    return ExperimentRecord(
        id=text(raw, "id") or "",
        owner=text(raw, "owner") or PUBLIC_OWNER,
        name=text(raw, "name") or "",
        created_at=number(raw, "created_at") or 0.0,
        request=json.loads(text(raw, "request") or "{}"),
        members=[MemberRef(**member) for member in json.loads(text(raw, "members") or "[]")],
    )
