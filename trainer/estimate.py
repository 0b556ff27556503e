"""A run's size before it starts, so that a service can refuse oversized jobs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainer.config import TrainConfig
from trainer.network import layer_sizes, parameter_count
from trainer.optimizers import make_optimizer


@dataclass(frozen=True)
class RunEstimate:
    """A run's size, known before it starts: parameter count, optimizer steps, floating-point
    operations (about 6 per parameter per example per epoch) and peak memory in bytes."""

    parameters: int
    steps: int
    flops: float
    memory_bytes: int


def estimate(config: TrainConfig, n_features: int, n_examples: int) -> RunEstimate:
    """The size of a run on ``n_examples`` examples of ``n_features`` features, before it starts."""
    sizes = layer_sizes(n_features, config.layers)
    n_train = n_examples - round(config.validation_fraction * n_examples)
    batch = min(config.mini_batch_size or n_train, n_train) or 1
    steps = config.epochs * math.ceil(n_train / batch)
    n_params = parameter_count(sizes)
    vectors = 3 + len(make_optimizer(config.optimizer).slots)  # parameters, gradient, scratch, state
    activations = 3 * sum(n + 1 for n in sizes[1:]) * batch
    data = 2 * n_examples * (n_features + 1) + 2 * batch * (n_features + 1)  # X, its rows, 2 batch buffers
    memory = 8 * (data + vectors * n_params + activations)
    return RunEstimate(n_params, steps, 6.0 * n_params * n_train * config.epochs, memory)
