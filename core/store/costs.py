"""A job's progress and its cost points (``P:job:{id}:costs``, scored by epoch)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.store.base import ID, StoreBase


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


class Costs(StoreBase):
    """Progress (``epoch``, ``updated_at``) and the cost points the worker appends and clients page."""

    def append_costs(
        self, job_id: str, points: Iterable[tuple[int, float]], epoch: int | None = None, steps: int = 0
    ) -> None:
        """Add cost points ``(epoch, cost)`` in one round trip, and the progress if ``epoch`` is given;
        ``steps`` training steps done since the last append are added to ``P:stats`` (``core.store.stats``).

        A point replaces any earlier point at the same epoch, so a resumed job never duplicates one.
        """
        self.append_progress({job_id: (points, epoch)}, steps)

    def append_progress(
        self, runs: Mapping[str, tuple[Iterable[tuple[int, float]], int | None]], steps: int = 0
    ) -> None:
        """``append_costs`` for several jobs (job id → points, epoch) in one round trip, with the training
        steps all of them did since the last append."""
        now = repr(time.time())
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id, (points, epoch) in runs.items():
                key = self.keys.costs(job_id)
                for point_epoch, cost in points:
                    pipe.zremrangebyscore(key, point_epoch, point_epoch)
                    pipe.zadd(key, {f"{int(point_epoch)}:{float(cost)!r}": int(point_epoch)})
                pipe.expire(key, self.ttl)
                if epoch is not None:
                    pipe.hset(self.keys.job(job_id), mapping={"epoch": epoch, "updated_at": now})
            if steps:
                pipe.hincrby(self.keys.stats(), "steps", steps)
            pipe.execute()

    def drop_costs_after(self, job_id: str, epoch: int) -> None:
        """Remove points after ``epoch``: a job resumed from a checkpoint at ``epoch`` records them again."""
        self.redis.zremrangebyscore(self.keys.costs(job_id), f"({epoch}", "+inf")

    def costs_since(self, job_id: str, since: int = 0, limit: int | None = None) -> list[tuple[int, float]]:
        """Points with epoch > ``since``, oldest first, at most ``limit`` of them."""
        return _points(self.redis.zrangebyscore(*self._costs_range(job_id, since, limit)))

    def costs_of(self, job_ids: Sequence[str], since: int = 0) -> list[list[tuple[int, float]]]:
        """Each job's points with epoch > ``since``, in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.zrangebyscore(self.keys.costs(job_id), f"({since}", "+inf")
            return [_points(members) for members in pipe.execute()]

    def costs_page(self, job_id: str, since: int = 0, limit: int | None = None) -> CostsSnapshot | None:
        """The job's status, progress and points after ``since`` in one atomic round trip (so a
        finished status comes with every point), or None for an unknown job."""
        if not ID.fullmatch(job_id):
            return None
        key, low, high, start, num = self._costs_range(job_id, since, limit)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(self.keys.job(job_id), ["owner", "status", "epoch", "epochs"])
            pipe.zrangebyscore(key, low, high, start=start, num=num)
            (owner, job_status, epoch, epochs), members = pipe.execute()
        if job_status is None:
            return None
        return CostsSnapshot(owner.decode(), job_status.decode(), int(epoch), int(epochs), _points(members))

    def _costs_range(
        self, job_id: str, since: int, limit: int | None
    ) -> tuple[str, str, str, int | None, int | None]:
        return self.keys.costs(job_id), f"({since}", "+inf", 0 if limit is not None else None, limit
