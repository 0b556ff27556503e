"""A run's size before it starts, so that a service can refuse oversized jobs and size time limits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trainer.config import TrainConfig
from trainer.network import layer_sizes, parameter_count
from trainer.optimizers import make_optimizer
from trainer.stacking import check_stack


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
    return estimate_stack([config], n_features, n_examples)


def estimate_stack(configs: Sequence[TrainConfig], n_features: int, n_examples: int) -> RunEstimate:
    """The size of a stack of ``configs`` (``trainer.stacked``; one config is a solo run) on ``n_examples``
    examples of ``n_features`` features, before it starts.

    The members take their steps together, so ``steps`` is one member's; ``parameters`` and ``flops`` are
    the members' sums. ``memory_bytes`` counts the data once (``X``, its rows, two mini-batch buffers) and,
    per member, its vectors (parameters, gradient, scratch, optimizer state) and its activations (four
    buffers per layer: pre-activation, activation, ReLU slope, delta). Raises ``ConfigError`` when the
    configs cannot share a stack (``trainer.stacking.check_stack``).
    """
    check_stack(configs)
    shared = configs[0]
    sizes = layer_sizes(n_features, shared.layers)
    n_train = n_examples - round(shared.validation_fraction * n_examples)
    batch = min(shared.mini_batch_size or n_train, n_train) or 1
    steps = shared.epochs * math.ceil(n_train / batch)
    n_params = parameter_count(sizes)
    vectors = sum(3 + len(make_optimizer(c.optimizer).slots) for c in configs)
    activations = 4 * len(configs) * sum(n + 1 for n in sizes[1:]) * batch
    first_layer = 2 * len(configs) * (n_features + 1) * sizes[1] if len(configs) > 1 else 0  # gathered
    data = 2 * n_examples * (n_features + 1) + 2 * batch * (n_features + 1)
    memory = 8 * (data + vectors * n_params + activations + first_layer)
    flops = 6.0 * len(configs) * n_params * n_train * shared.epochs
    return RunEstimate(len(configs) * n_params, steps, flops, memory)
