"""What a recorded cost curve says about its optimizer: how rough it is, and when it settled.

For recorded costs ``c_1 … c_n`` (one per recorded epoch, oldest first):

* **roughness** = ``Σ |c_{k+1} − c_k| / (c_1 − c_n)``: the curve's total variation over its net decrease.
  A curve that only goes down has roughness 1.0; every bump adds twice its height. It is None for fewer
  than two points, and for a curve that did not decrease (``c_n ≥ c_1``).
* **shape**: ``"smooth"`` when the roughness is at most :data:`SMOOTH_ROUGHNESS` (the bumps add up to at
  most a tenth of the net decrease), else ``"oscillating"`` (a curve that did not decrease is
  ``"oscillating"``). descent records the cost averaged over the epoch (the newer notebook's
  ``cost_avg``); on the course's §5 job so recorded gd and momentum decrease monotonically (1.000) and
  Adam measures 1.001 with a point every 100 epochs, 1.90 with a point every epoch. The seed's table calls
  gd and momentum "oscillations" because its figure plots one mini-batch's cost per 100 epochs
  (docs/experiments.md).
* **epochs_to_converge**: the first recorded epoch whose cost is within 1 % of the final cost,
  ``|c_k − c_n| ≤ 0.01 · |c_n|``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

SMOOTH_ROUGHNESS = 1.1
CONVERGED_WITHIN = 0.01


def roughness(costs: Sequence[float]) -> float | None:
    """Total variation over net decrease (1.0 for a monotone decreasing curve)."""
    if len(costs) < 2 or costs[-1] >= costs[0]:
        return None
    variation = sum(abs(b - a) for a, b in itertools.pairwise(costs))
    return variation / (costs[0] - costs[-1])


def shape(value: float | None) -> str:
    """``"smooth"`` or ``"oscillating"`` (see the module docstring)."""
    return "smooth" if value is not None and value <= SMOOTH_ROUGHNESS else "oscillating"


def epochs_to_converge(points: Sequence[tuple[int, float]]) -> int | None:
    """The first recorded epoch within 1 % of the final cost; None without points."""
    if not points:
        return None
    final = points[-1][1]
    return next(epoch for epoch, cost in points if abs(cost - final) <= CONVERGED_WITHIN * abs(final))
