"""Plain settings of one training run.

Every default is the seed's job (``../shared/seed/REPRODUCING.md``): moons, hidden layers ``[5, 2]``,
learning rate 0.0007, mini-batches of 64, 10000 epochs, shuffle seed 10, init seed 3, a cost point every
100 epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from trainer.errors import ConfigError

OptimizerName = Literal["gd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]
DecayName = Literal["none", "inverse_time", "fixed_interval"]

OPTIMIZER_NAMES: tuple[str, ...] = get_args(OptimizerName)


@dataclass(frozen=True)
class OptimizerConfig:
    """One optimizer and its hyperparameters; fields an optimizer does not use are ignored.

    ``beta`` is the momentum/Nesterov average, ``beta1``/``beta2`` Adam's first and second moment
    averages (``beta2`` is also RMSProp's), ``epsilon_inside_sqrt`` selects the seed's
    ``v / sqrt(s + eps)`` (True) or PyTorch's ``v / (sqrt(s) + eps)`` (False), ``weight_decay`` is
    AdamW's decoupled decay.
    """

    name: OptimizerName = "adam"
    learning_rate: float = 0.0007
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    epsilon_inside_sqrt: bool = True
    weight_decay: float = 0.01


@dataclass(frozen=True)
class DecayConfig:
    """Learning-rate decay of the course's newer notebook, applied per epoch; off by default.

    inverse_time:    lr = lr0 / (1 + decay_rate * epoch_num)
    fixed_interval:  lr = lr0 / (1 + decay_rate * floor(epoch_num / time_interval))
    """

    name: DecayName = "none"
    decay_rate: float = 1.0
    time_interval: int = 1000


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run, apart from the data.

    ``mini_batch_size`` None means the whole training set (batch gradient descent); 1 is stochastic
    gradient descent. ``seed`` is the starting shuffle seed: epoch k (counting from 1) shuffles with
    ``seed + k``. ``init_seed`` seeds He initialisation. ``validation_fraction`` > 0 holds out that share
    of the examples (drawn with ``np.random.RandomState(seed).permutation``) and reports accuracy on it.
    """

    layers: tuple[int, ...] = (5, 2)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    decay: DecayConfig = field(default_factory=DecayConfig)
    mini_batch_size: int | None = 64
    epochs: int = 10000
    record_every: int = 100
    seed: int = 10
    init_seed: int = 3
    validation_fraction: float = 0.0


def validate_config(config: TrainConfig) -> None:
    """Raise ``ConfigError`` naming the first setting out of range."""
    o = config.optimizer
    checks = [
        (o.learning_rate > 0 and math.isfinite(o.learning_rate), "optimizer.learning_rate must be > 0"),
        (0 <= o.beta < 1, "optimizer.beta must be in [0, 1)"),
        (0 <= o.beta1 < 1, "optimizer.beta1 must be in [0, 1)"),
        (0 <= o.beta2 < 1, "optimizer.beta2 must be in [0, 1)"),
        (o.epsilon > 0, "optimizer.epsilon must be > 0"),
        (o.weight_decay >= 0, "optimizer.weight_decay must be >= 0"),
        (len(config.layers) >= 1 and all(n >= 1 for n in config.layers), "layers must be sizes >= 1"),
        (config.mini_batch_size is None or config.mini_batch_size >= 1, "mini_batch_size must be >= 1"),
        (config.epochs >= 1, "epochs must be >= 1"),
        (config.record_every >= 1, "record_every must be >= 1"),
        (0 <= config.validation_fraction < 1, "validation_fraction must be in [0, 1)"),
        (config.decay.decay_rate >= 0, "decay.decay_rate must be >= 0"),
        (config.decay.time_interval >= 1, "decay.time_interval must be >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
