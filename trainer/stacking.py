"""Which runs can train as one stack (``trainer.stacked``): the settings a stack's members share.

Runs on the same data whose configs have equal ``stack_key`` train as one computation: they share the
data's validation split and every epoch's shuffle, the net's layer sizes, the mini-batches and the points
at which costs are recorded. ``stack_key`` is a pure function of the config, for a service to group
members by. Members may differ in everything else: the optimizer (any of gd, momentum, nesterov, rmsprop,
adam, adamw, and every hyperparameter, learning rate included), the decay schedule and ``init_seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from trainer.config import TrainConfig, validate_config
from trainer.errors import ConfigError


class StackKey(NamedTuple):
    """The settings every member of a stack shares (``TrainConfig``'s fields of the same names)."""

    layers: tuple[int, ...]
    mini_batch_size: int | None
    epochs: int
    record_every: int
    seed: int
    validation_fraction: float


def stack_key(config: TrainConfig) -> StackKey:
    """The shared settings of ``config``: runs on the same data with equal keys can be one stack."""
    return StackKey(
        layers=tuple(int(n) for n in config.layers),
        mini_batch_size=config.mini_batch_size,
        epochs=config.epochs,
        record_every=config.record_every,
        seed=config.seed,
        validation_fraction=config.validation_fraction,
    )


def check_stack(configs: Sequence[TrainConfig]) -> None:
    """Raise ``ConfigError`` unless ``configs`` is at least one valid config and all share ``stack_key``;
    the message names the first member and setting that differ from member 0's."""
    if not configs:
        raise ConfigError("a stack needs at least one member")
    for config in configs:
        validate_config(config)
    first = stack_key(configs[0])
    for index, config in enumerate(configs[1:], start=1):
        key = stack_key(config)
        for field, mine, theirs in zip(StackKey._fields, key, first, strict=True):
            if mine != theirs:
                raise ConfigError(
                    f"member {index} cannot share a stack with member 0: {field} is {mine!r}, not {theirs!r}"
                )
