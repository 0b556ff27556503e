"""Plain settings of one training run.

Every default is the seed's job (``../shared/seed/REPRODUCING.md``): moons, hidden layers ``[5, 2]``,
learning rate 0.0007, mini-batches of 64, 10000 epochs, shuffle seed 10, init seed 3, a cost point every
100 epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

OptimizerName = Literal["gd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]
DecayName = Literal["none", "inverse_time", "fixed_interval"]

OPTIMIZER_NAMES: tuple[str, ...] = ("gd", "momentum", "nesterov", "rmsprop", "adam", "adamw")


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
