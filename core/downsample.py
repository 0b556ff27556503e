"""Min/max-bucket downsampling of a cost curve, from its points or from the packed block levels.

A curve of n points asked for at most ``max_points`` (≥ 4) is cut into buckets of s consecutive points,
s the smallest power of two with 2·⌈n/s⌉ + 2 ≤ max_points. The answer is the first point, each bucket's
minimum and maximum (in epoch order; once if they are the same point; ties keep the earlier point; a NaN
cost is neither unless the whole bucket is NaN), and the last point. So it keeps the first point, the last
one and the global minimum (some bucket's), draws every bucket's full vertical extent, and is a function
of the points alone: the same curve gives the same answer every time. n ≤ max_points returns every point.

The store keeps, besides the points packed (block 1), each block of 64 and 4096 points' minimum and
maximum (``core.keys.CURVE_BLOCKS``). A bucket is a whole number of blocks of the largest level with
block ≤ s, so the answer computed from that level is exactly the answer from the points, while reading
about 2·n/block points instead of n: a 100,000-point curve asked for 1,000 points reads ~3,000.
"""

from __future__ import annotations

import numpy as np

from core.keys import CURVE_BLOCKS

MIN_POINTS = 4


def bucket_size(n: int, max_points: int) -> int:
    """s: 1 when every point fits, else the smallest power of two with 2·⌈n/s⌉ + 2 ≤ max_points."""
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}")
    if n <= max_points:
        return 1
    size = 2
    while 2 * -(-n // size) + 2 > max_points:
        size *= 2
    return size


def level_for(size: int) -> int:
    """The block of the coarsest stored level that divides a bucket of ``size`` points."""
    return max(block for block in CURVE_BLOCKS if block <= size)


def _pick(costs: np.ndarray, size: int, lowest: bool) -> np.ndarray:
    """Per group of ``size`` consecutive costs, the index of the lowest (or highest): the first on ties,
    and a NaN only when the group has nothing else."""
    padded = np.full(-(-len(costs) // size) * size, np.nan)
    padded[: len(costs)] = costs
    groups = padded.reshape(-1, size)
    nan = np.isnan(groups)
    ranked = np.where(nan, np.inf if lowest else -np.inf, groups)
    best = ranked.argmin(axis=1) if lowest else ranked.argmax(axis=1)
    rows = np.arange(len(groups))
    # an infinite cost ranks level with NaN (and the padding): take the first entry that is a number
    tied = nan[rows, best] & ~nan.all(axis=1)
    best[tied] = (~nan[tied]).argmax(axis=1)
    return rows * size + best


def downsample(
    level: np.ndarray, block: int, n: int, first: np.ndarray, last: np.ndarray, max_points: int
) -> np.ndarray:
    """The curve of ``n`` points as at most ``max_points`` ``(epoch, cost)`` rows (see the module doc).

    ``level`` is the stored level of ``block``: ``(n, 2)`` points for block 1, else ``(⌈n/block⌉, 4)``
    rows of (minimum epoch, cost, maximum epoch, cost); ``first`` and ``last`` are the curve's end points.
    """
    size = bucket_size(n, max_points)
    if size == 1:
        return level[:n]
    if size % block:
        raise ValueError(f"a level of block {block} cannot make buckets of {size} points")
    lows, highs = (level, level) if block == 1 else (level[:, :2], level[:, 2:])
    group = size // block
    low = lows[_pick(lows[:, 1], group, lowest=True)]
    high = highs[_pick(highs[:, 1], group, lowest=False)]
    chosen = np.concatenate([first[None], np.stack([low, high], axis=1).reshape(-1, 2), last[None]])
    order = np.argsort(chosen[:, 0], kind="stable")
    chosen = chosen[order]
    keep = np.ones(len(chosen), dtype=bool)
    keep[1:] = chosen[1:, 0] != chosen[:-1, 0]
    return chosen[keep]
