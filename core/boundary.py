"""A trained 2-feature model's decision boundary, as the course's ``plot_decision_boundary`` computes it.

The grid covers each feature's range widened by 1 on both sides with the course's step of 0.01, coarser
when that would take more than ``grid_max`` points per axis (``settings.boundary_grid_max``), or more than
``MAX_MULTIPLY_ADDS`` for a large model; the model's output (the sigmoid, P(label 1)) is computed at every
grid point, a block of columns at a time so memory stays small. The label regions are probability > 0.5.
The data points drawn over it are the job's, at most ``max_points`` of them (an even, fixed subset).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from trainer.network import predict_proba

COURSE_STEP = 0.01
MARGIN = 1.0
MAX_MULTIPLY_ADDS = 2e9
"""Work cap of one boundary: grid points × the model's weights (a wide model gets a coarser grid)."""
BLOCK_VALUES = 2**22
"""Activations computed at once: grid columns per block × the widest layer."""


@dataclass(frozen=True)
class Boundary:
    """``probabilities[i, j]`` is the model's output at ``(x[j], y[i])``; ``points`` are (2, k) with their
    ``labels`` (k,)."""

    x: np.ndarray
    y: np.ndarray
    probabilities: np.ndarray
    points: np.ndarray
    labels: np.ndarray


def grid_axis(values: np.ndarray, max_points: int) -> np.ndarray:
    """From min − 1 to below max + 1 by 0.01, or by the step that gives ``max_points`` points."""
    low, high = float(values.min()) - MARGIN, float(values.max()) + MARGIN
    step = max(COURSE_STEP, (high - low) / max_points)
    count = min(max_points, math.ceil((high - low) / step - 1e-9))
    return low + step * np.arange(count)


def even_subset(count: int, at_most: int) -> np.ndarray:
    """Indices of at most ``at_most`` of ``count`` items, evenly spread, always the same ones."""
    if count <= at_most:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, at_most).round().astype(np.int64))


def decision_boundary(
    parameters: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, grid_max: int, max_points: int
) -> Boundary:
    """The model's output over a grid covering ``X`` (2, m), and at most ``max_points`` of the points."""
    weights = sum(int(parameters[name].size) for name in parameters if name.startswith("W"))
    side = max(2, min(grid_max, math.isqrt(int(MAX_MULTIPLY_ADDS // max(weights, 1)))))
    x, y = grid_axis(X[0], side), grid_axis(X[1], side)
    xx, yy = np.meshgrid(x, y)
    grid = np.vstack([xx.ravel(), yy.ravel()])
    widest = max(int(parameters[name].shape[0]) for name in parameters if name.startswith("W"))
    block = max(1, BLOCK_VALUES // widest)
    outputs = [
        predict_proba(dict(parameters), grid[:, i : i + block])[0] for i in range(0, grid.shape[1], block)
    ]
    chosen = even_subset(X.shape[1], max_points)
    return Boundary(x, y, np.concatenate(outputs).reshape(xx.shape), X[:, chosen], Y.reshape(-1)[chosen])
