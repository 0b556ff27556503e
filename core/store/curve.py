"""A job's cost curve downsampled to a few points (``core.downsample``), read from the packed levels."""

from __future__ import annotations

import numpy as np

from core.downsample import bucket_size, downsample, level_for
from core.store.base import ID
from core.store.costs import Costs, CostsSnapshot

POINT = 16
"""Bytes of a packed point: epoch and cost, little-endian float64."""


class Curves(Costs):
    """``GET /jobs/{id}/costs?max_points=N``: at most N points of the whole history that keep its shape."""

    def costs_curve(self, job_id: str, max_points: int) -> CostsSnapshot | None:
        """The job's status and progress with its whole curve downsampled to at most ``max_points``
        points, or None for an unknown job.

        Two small round trips: the point count, then (atomically, so a finished status comes with every
        point) the job's fields, the end points and the one level that answers exactly. A history whose
        levels do not match its points (written before the levels existed) is read from the sorted set.
        """
        if not ID.fullmatch(job_id):
            return None
        points_key = self.keys.curve(job_id, 1)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.strlen(points_key)
            pipe.zcard(self.keys.costs(job_id))
            packed, n = pipe.execute()
        for _ in range(3):  # the count changed in between (a resumed job dropped points): read again
            if packed != n * POINT:
                break
            block = level_for(bucket_size(n, max_points))
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.hmget(self.keys.job(job_id), ["owner", "status", "epoch", "epochs"])
                pipe.strlen(points_key)
                pipe.zcard(self.keys.costs(job_id))
                pipe.getrange(points_key, 0, POINT - 1)
                pipe.getrange(points_key, -POINT, -1)
                pipe.get(self.keys.curve(job_id, block))
                (owner, status, epoch, epochs), packed, n, first, last, level = pipe.execute()
            if status is None:
                return None
            if packed == n * POINT and level_for(bucket_size(n, max_points)) == block:
                points = []
                if n:
                    rows = np.frombuffer(level, dtype="<f8").reshape(-1, 2 if block == 1 else 4)
                    ends = [np.frombuffer(end, dtype="<f8") for end in (first, last)]
                    points = _pairs(downsample(rows, block, n, *ends, max_points))
                return CostsSnapshot(owner.decode(), status.decode(), int(epoch), int(epochs), points)
        return self._curve_from_set(job_id, max_points)

    def _curve_from_set(self, job_id: str, max_points: int) -> CostsSnapshot | None:
        page = self.costs_page(job_id)
        if page is None or not page.points:
            return page
        rows = np.array(page.points, dtype=np.float64)
        points = _pairs(downsample(rows, 1, len(rows), rows[0], rows[-1], max_points))
        return CostsSnapshot(page.owner, page.status, page.epoch, page.epochs, points)


def _pairs(curve: np.ndarray) -> list[tuple[int, float]]:
    return [(int(epoch), float(cost)) for epoch, cost in curve]
