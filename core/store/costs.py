"""A job's progress and its cost points: the sorted set ``P:job:{id}:costs`` (scored by epoch), the packed
curve levels ``P:job:{id}:curve:{block}`` and a ``point``/``progress`` event per change, all written by one
Lua script (``scripts/append_costs.lua``) so they never disagree."""

from __future__ import annotations

import json
import math
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from core.keys import CURVE_BLOCKS, Keys
from core.store.base import ID, KEPT_BYTES, StoreBase
from core.store.scripts import lua

BLOCKS = ",".join(map(str, CURVE_BLOCKS))


@dataclass(frozen=True)
class CostsSnapshot:
    """A job's status and progress with its cost points after some epoch, read together."""

    owner: str
    status: str
    epoch: int
    epochs: int
    points: list[tuple[int, float]]
    derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """What readers derive from the snapshot and keep with it (the API keeps its JSON): the reads of one
    state of a page share one snapshot (:func:`snapshot_of`)."""


def _points(members: Iterable[bytes]) -> list[tuple[int, float]]:
    """Cost-set members ``b"{epoch}:{cost}"`` as ``(epoch, cost)``."""
    points = []
    for member in members:
        epoch, cost = member.split(b":", 1)
        points.append((int(epoch), float(cost)))
    return points


def point_data(epoch: int, cost: float) -> str:
    """The JSON of a ``point`` event: ``{"epoch": …, "cost": …}``, the cost null if it is not finite."""
    return json.dumps({"epoch": epoch, "cost": cost if math.isfinite(cost) else None}, separators=(",", ":"))


class Costs(StoreBase):
    """Progress (``epoch``, ``updated_at``) and the cost points the worker appends and clients page."""

    def curve_keys(self, job_id: str) -> list[str]:
        """The job's packed curve levels, in the order of ``CURVE_BLOCKS`` (the points themselves first)."""
        return [self.keys.curve(job_id, block) for block in CURVE_BLOCKS]

    def append_costs(
        self, job_id: str, points: Iterable[tuple[int, float]], epoch: int | None = None, steps: int = 0
    ) -> int:
        """Add cost points ``(epoch, cost)`` (in epoch order), a ``point`` event each, and the progress
        (with a ``progress`` event when it moved) if ``epoch`` is given, in one atomic round trip;
        ``steps`` training steps done since the last append are added to ``P:stats`` (``core.store.stats``).

        Only points after the last recorded epoch are added, so a retried write adds nothing twice (a
        resumed job drops the points after its checkpoint first, :meth:`drop_costs_after`). Returns how
        many were added; nothing is written for a job that no longer exists.
        """
        return self.append_progress({job_id: (points, epoch)}, steps)[0]

    def append_progress(
        self, runs: Mapping[str, tuple[Iterable[tuple[int, float]], int | None]], steps: int = 0
    ) -> list[int]:
        """``append_costs`` for several jobs (job id → points, epoch) in one round trip, each job's write
        atomic, with the training steps all of them did since the last append; how many points each added."""
        script = self.redis.register_script(lua("append_costs"))
        with self.redis.pipeline(transaction=False) as pipe:
            for index, (job_id, (points, epoch)) in enumerate(runs.items()):
                keys, args = self._append_call(job_id, points, epoch, steps if index == 0 else 0)
                script(keys=keys, args=args, client=pipe)
            return [int(added) for added in pipe.execute()]

    def _append_call(
        self, job_id: str, points: Iterable[tuple[int, float]], epoch: int | None, steps: int
    ) -> tuple[list[str], list[str | bytes | int]]:
        """The keys and arguments of ``scripts/append_costs.lua`` for one job."""
        args: list[str | bytes | int] = [
            self.ttl,
            self.events_max_len,
            "" if epoch is None else int(epoch),
            repr(time.time()),
            BLOCKS,
            int(steps),
        ]
        for point_epoch, cost in points:
            point_epoch, cost = int(point_epoch), float(cost)
            args += [point_epoch, f"{point_epoch}:{cost!r}", point_data(point_epoch, cost)]
            args.append(struct.pack("<dd", point_epoch, cost))
        keys = [self.keys.job(job_id), self.keys.costs(job_id), self.keys.events(job_id), self.keys.stats()]
        return keys + self.curve_keys(job_id), args

    def drop_costs_after(self, job_id: str, epoch: int) -> None:
        """Remove points after ``epoch``: a job resumed from a checkpoint at ``epoch`` records them again.
        (The events already sent stay: a client takes a later point at an epoch as replacing the earlier.)"""
        self.drop_costs_after_each([job_id], epoch)

    def drop_costs_after_each(self, job_ids: Sequence[str], epoch: int) -> None:
        """:meth:`drop_costs_after` for several jobs (a stack's members) in one round trip."""
        script = self.redis.register_script(lua("drop_costs"))
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                keys = [self.keys.costs(job_id), *self.curve_keys(job_id)]
                script(keys=keys, args=[int(epoch), BLOCKS], client=pipe)
            pipe.execute()

    def costs_since(self, job_id: str, since: int = 0, limit: int | None = None) -> list[tuple[int, float]]:
        """Points with epoch > ``since``, oldest first, at most ``limit`` of them."""
        start = 0 if limit is not None else None
        return _points(self.redis.zrangebyscore(self.keys.costs(job_id), f"({since}", "+inf", start, limit))

    def costs_of(self, job_ids: Sequence[str], since: int = 0) -> list[list[tuple[int, float]]]:
        """Each job's points with epoch > ``since``, in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.zrangebyscore(self.keys.costs(job_id), f"({since}", "+inf")
            return [_points(members) for members in pipe.execute()]

    def costs_pages(self, job_ids: Sequence[str], since: int = 0) -> list[CostsSnapshot | None]:
        """:meth:`costs_page` (no limit) for several jobs in one command: each job's status, progress and
        points after ``since`` (None for an unknown job)."""
        keys = [key for job_id in job_ids for key in costs_page_keys(self.keys, job_id)]
        reply = self.redis.register_script(lua("read_costs"))(keys=keys, args=[since, 0]) if keys else []
        return [snapshot_of(page) for page in zip(reply[::2], reply[1::2], strict=True)]

    def costs_page(self, job_id: str, since: int = 0, limit: int | None = None) -> CostsSnapshot | None:
        """The job's status, progress and points after ``since`` in one atomic round trip (so a
        finished status comes with every point), or None for an unknown job."""
        if not ID.fullmatch(job_id):
            return None
        script = self.redis.register_script(lua("read_costs"))
        return snapshot_of(script(keys=costs_page_keys(self.keys, job_id), args=[since, limit or 0]))


def costs_page_keys(keys: Keys, job_id: str) -> list[str]:
    """The ``KEYS`` of ``scripts/read_costs.lua`` (ARGV: since, and the limit or 0)."""
    return [keys.job(job_id), keys.costs(job_id)]


PAGES_KEPT = 1024
"""Snapshots :func:`snapshot_of` keeps, by what was read, so that a page read again unchanged is not parsed
again (nor, by the API, serialised again: ``CostsSnapshot.derived``)."""


def snapshot_of(reply: Sequence[Any]) -> CostsSnapshot | None:
    """The snapshot of ``scripts/read_costs.lua``'s reply, or None for an unknown job; a page read as one of
    the last ``PAGES_KEPT`` (the same job fields and points) is the same snapshot."""
    (owner, job_status, epoch, epochs), members = reply
    if job_status is None:
        return None
    if sum(map(len, members)) > KEPT_BYTES:
        return _snapshot(owner, job_status, epoch, epochs, members)
    return _kept_snapshot(owner, job_status, epoch, epochs, tuple(members))


def _snapshot(
    owner: bytes, status: bytes, epoch: bytes, epochs: bytes, members: Sequence[bytes]
) -> CostsSnapshot:
    return CostsSnapshot(owner.decode(), status.decode(), int(epoch), int(epochs), _points(members))


_kept_snapshot = lru_cache(maxsize=PAGES_KEPT)(_snapshot)
