"""Min/max-bucket downsampling against a plain loop written from its definition, on curves with plateaus,
spikes, NaN and infinite costs; then the store's packed levels against the same loop as a job writes,
is resumed (points dropped) and retries a write."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.downsample import bucket_size, downsample
from core.spec import TrainingSpec
from core.store import JobStore

Point = tuple[int, float]


def reference(points: list[Point], max_points: int) -> list[Point]:
    """The definition, one bucket at a time: the first and last points, and each bucket of s points' first
    lowest and first highest cost (a NaN only when the bucket has nothing else)."""
    n = len(points)
    if n <= max_points:
        return points
    size = next(2**k for k in range(1, 64) if 2 * math.ceil(n / 2**k) + 2 <= max_points)
    chosen = {0, n - 1}
    for start in range(0, n, size):
        bucket = range(start, min(start + size, n))
        cost = lambda i: points[i][1]  # noqa: E731
        chosen.add(min(bucket, key=lambda i: (math.isnan(cost(i)), 0.0 if math.isnan(cost(i)) else cost(i))))
        chosen.add(
            max(bucket, key=lambda i: (not math.isnan(cost(i)), 0.0 if math.isnan(cost(i)) else cost(i)))
        )
    return [points[i] for i in sorted(chosen)]


def curve(n: int, seed: int) -> list[Point]:
    """A noisy decreasing cost with plateaus (ties), spikes, a few NaN and infinite costs, epochs 1…n."""
    rng = np.random.default_rng(seed)
    costs = np.exp(-np.arange(n) / (n / 5)) + rng.normal(0, 0.02, n)
    if n >= 100:
        costs[rng.integers(0, n, n // 50)] = 0.5  # ties
        costs[rng.integers(0, n, 5)] = 3.0  # spikes
        costs[rng.integers(0, n, 5)] = np.nan
        costs[rng.integers(0, n, 2)] = np.inf
        costs[-40:-20] = np.nan  # a NaN-only bucket at small sizes
    return [(epoch, float(c)) for epoch, c in zip(range(1, n + 1), costs, strict=True)]


def same(a: list[Point], b: list[Point]) -> bool:
    return np.array_equal(np.array(a, dtype=float), np.array(b, dtype=float), equal_nan=True)


def from_points(points: list[Point], max_points: int) -> list[Point]:
    rows = np.array(points, dtype=np.float64)
    return [(int(e), float(c)) for e, c in downsample(rows, 1, len(rows), rows[0], rows[-1], max_points)]


@pytest.mark.parametrize("n", [1, 3, 10, 999, 5000])
@pytest.mark.parametrize("max_points", [4, 5, 7, 100, 1000])
def test_the_points_are_the_definitions(n: int, max_points: int) -> None:
    points = curve(n, seed=n + max_points)
    got = from_points(points, max_points)
    assert same(got, reference(points, max_points))
    assert len(got) <= max_points
    assert got[0] == points[0] and same(got[-1:], points[-1:])
    finite = [p for p in points if math.isfinite(p[1])]
    assert min(finite, key=lambda p: p[1]) in got, "the minimum is kept"
    assert same(from_points(points, max_points), got), "the same answer every time"


def test_bucket_sizes_are_the_smallest_power_of_two_that_fits() -> None:
    assert bucket_size(100, 100) == 1 and bucket_size(101, 100) == 4  # 2·⌈101/2⌉ + 2 = 104 > 100
    assert bucket_size(100_000, 1000) == 256  # 2·391 + 2 = 784 ≤ 1000 < 2·782 + 2
    with pytest.raises(ValueError):
        bucket_size(10, 3)


def test_the_stores_levels_answer_as_the_points_would(store: JobStore) -> None:
    job_id = store.create_job(TrainingSpec()).id
    points = curve(20_000, seed=1)
    rng = np.random.default_rng(2)

    def append(upto: int, start: int) -> None:
        while start < upto:
            end = min(upto, start + int(rng.integers(1, 900)))
            store.append_costs(job_id, points[start:end], epoch=points[end - 1][0])
            start = end

    def check(kept: list[Point]) -> None:
        for max_points in (4, 10, 50, 333, 1000, 10_000):  # every level: 4096, 64 and the points
            snapshot = store.costs_curve(job_id, max_points)
            assert snapshot is not None and same(snapshot.points, reference(kept, max_points)), max_points

    append(20_000, 0)
    check(points)
    assert store.append_costs(job_id, points[-500:], epoch=20_000) == 0, "a retried write adds nothing"
    check(points)
    for resumed_at in (13_001, 4096 * 2, 70):  # mid-block, on a block boundary, inside the first block
        store.drop_costs_after(job_id, resumed_at)
        check(points[:resumed_at])
    append(15_000, 70)
    check(points[:15_000])
    store.redis.delete(*store.curve_keys(job_id))  # a history written before the levels existed
    check(points[:15_000])
