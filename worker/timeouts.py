"""A job's wall-clock limit, derived from its size before it runs.

The limit is a generous multiple of a pessimistic estimate of the run's time, clamped by the settings::

    estimate = steps × STEP_SECONDS + flops / FLOPS_PER_SECOND          (trainer.estimate)
    limit    = min(max_job_seconds, max(min_job_seconds, ⌈FACTOR × estimate⌉))

``STEP_SECONDS`` (100 µs of Python per mini-batch step) and ``FLOPS_PER_SECOND`` (1 GFLOP/s on one BLAS
thread) are each several times slower than docs/benchmarks.md measures (15–90 µs per step on the seed's
net, ~25 GFLOP/s on the 12288-feature one), and ``FACTOR`` leaves room for a loaded machine. The limit
counts training time across attempts: the seconds up to a job's last checkpoint are carried into a
resumed run (time lost with a dead worker is not counted: the attempts cap bounds that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.config import Settings
from trainer import RunEstimate, TrainConfig, estimate, estimate_stack

STEP_SECONDS = 1e-4
FLOPS_PER_SECOND = 1e9
FACTOR = 10.0


def job_time_limit(config: TrainConfig, n_features: int, n_examples: int, settings: Settings) -> float:
    """Seconds of training a job of this size may take before it fails as timed out."""
    return _limit(estimate(config, n_features, n_examples), settings)


def stack_time_limit(
    configs: Sequence[TrainConfig], n_features: int, n_examples: int, settings: Settings
) -> float:
    """Seconds of training a stack of these members may take: the same rule on the stack's size (its
    steps are shared, its floating-point work is every member's)."""
    return _limit(estimate_stack(configs, n_features, n_examples), settings)


def _limit(size: RunEstimate, settings: Settings) -> float:
    expected = size.steps * STEP_SECONDS + size.flops / FLOPS_PER_SECOND
    return min(settings.max_job_seconds, max(settings.min_job_seconds, float(math.ceil(FACTOR * expected))))
