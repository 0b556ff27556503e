"""A job's wall-clock limit, derived from its size before it runs.

The limit is a generous multiple of the pessimistic estimate of the run's time (``trainer.estimate``: its
``seconds``), clamped by the settings::

    limit = min(max_job_seconds, max(min_job_seconds, ⌈FACTOR × estimate⌉))

The API refuses a job whose estimate is over ``max_job_seconds`` (``core.spec.caps``), so a job's limit
is at least its estimate, and ``FACTOR`` leaves room for a loaded machine. The limit counts training time
across attempts: the seconds up to a job's last checkpoint are carried into a resumed run (time lost with
a dead worker is not counted: the attempts cap bounds that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.config import Settings
from trainer import RunEstimate, TrainConfig, estimate, estimate_stack

FACTOR = 10.0


def job_time_limit(config: TrainConfig, n_features: int, n_examples: int, settings: Settings) -> float:
    """Seconds of training a job of this size may take before it fails as timed out."""
    return _limit(estimate(config, n_features, n_examples), settings)


def stack_time_limit(
    configs: Sequence[TrainConfig], n_features: int, n_examples: int, settings: Settings
) -> float:
    """Seconds of training a stack of these members may take: the same rule on the stack's size (its
    steps are shared, its work is every member's)."""
    return _limit(estimate_stack(configs, n_features, n_examples), settings)


def _limit(size: RunEstimate, settings: Settings) -> float:
    return min(
        settings.max_job_seconds, max(settings.min_job_seconds, float(math.ceil(FACTOR * size.seconds)))
    )
