"""A stack's optimizers: members that share a rule are a contiguous block of rows, updated by one call.

The stack sorts its members by ``group_key`` (the rule, and for rmsprop/adam/adamw the side of epsilon),
so that every group is a block of rows of the ``(members, P)`` parameters and gradients. A group applies
its rule from ``trainer.rules`` once to its whole ``(k, P)`` block, with each hyperparameter as a
``(k, 1)`` column: one value per member. The rules, the gains and the coefficients are the solo
optimizers' (``trainer.optimizers``), computed from the same floats by the same operations, so a member's
update equals its solo run's within an ulp or two (NumPy squares ``beta ** 2`` where Python calls ``pow``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from trainer.config import OptimizerConfig
from trainer.rules import adam_coefficients, adam_rule, gd_rule, momentum_rule, rmsprop_rule

RULES: tuple[str, ...] = ("gd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
EPSILON_RULES = frozenset({"rmsprop", "adam", "adamw"})


def group_key(optimizer: OptimizerConfig) -> tuple[int, bool]:
    """Members with equal keys are updated by one call: the rule, and the epsilon side where it has one."""
    inside = optimizer.epsilon_inside_sqrt if optimizer.name in EPSILON_RULES else True
    return RULES.index(optimizer.name), inside


def column(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """One value per row as a ``(k, 1)`` column, or a 0-d array when all rows share it: NumPy then runs
    one contiguous loop over the block instead of one short loop per row."""
    column = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    return column[0, 0].copy() if (column == column[0, 0]).all() else column


class RowGroup:
    """Rows of a stack that share one rule: their parameters and gradients (``(k, P)`` views), their
    optimizer state (``slots``, each ``(k, P)``) and their coefficients as ``(k, 1)`` columns (0-d when
    the rows share the value).

    Per epoch, ``start_epoch`` takes the rows' learning rates and returns their gains (the factor the
    backward pass multiplies each member's gradient by, ``trainer.optimizers``); per step, ``update``
    applies the rule to the scaled gradients.
    """

    slots: ClassVar[tuple[str, ...]] = ()
    scratch: ClassVar[bool] = True  # does the rule need a scratch block?

    def __init__(self, configs: Sequence[OptimizerConfig], params: np.ndarray, grads: np.ndarray) -> None:
        self.configs = list(configs)
        self.params, self.grads = params, grads
        self.state = {name: np.zeros_like(params) for name in self.slots}
        self.inside = configs[0].epsilon_inside_sqrt
        self._tmp = np.empty_like(params) if self.scratch else None

    def _hyper(self, name: str) -> np.ndarray:
        return column([getattr(c, name) for c in self.configs])

    def start_epoch(self, learning_rates: np.ndarray) -> np.ndarray:
        """Set the epoch's coefficients from the rows' learning rates (a column, or 0-d when shared);
        return their gains, likewise."""
        raise NotImplementedError

    def update(self, step: int) -> None:
        """Apply the rule to the rows (``step`` counts from 1)."""
        raise NotImplementedError


class GradientDescentRows(RowGroup):
    """``W -= lr g`` with ``lr g`` given."""

    scratch = False

    def start_epoch(self, learning_rates):
        return learning_rates

    def update(self, step):
        gd_rule(self.params, self.grads)


class MomentumRows(RowGroup):
    """Momentum, or Nesterov when ``nesterov``, with ``(1 - beta) g`` given."""

    slots = ("v",)
    nesterov = False

    def __init__(self, configs, params, grads):
        super().__init__(configs, params, grads)
        self._beta = self._hyper("beta")
        self._rate = np.zeros(())  # the learning rates, set by start_epoch

    def start_epoch(self, learning_rates):
        self._rate = learning_rates
        return 1 - self._beta

    def update(self, step):
        momentum_rule(
            self.params, self.grads, self.state["v"], self._tmp, self._beta, self._rate, self.nesterov
        )


class NesterovRows(MomentumRows):
    nesterov = True


class RMSPropRows(RowGroup):
    """RMSProp with ``lr g`` given and ``(1 - beta2) / lr^2`` as the gain of its square."""

    slots = ("s",)

    def __init__(self, configs, params, grads):
        super().__init__(configs, params, grads)
        self._beta2, self._eps = self._hyper("beta2"), self._hyper("epsilon")
        self._gain2 = np.zeros(())  # set by start_epoch

    def start_epoch(self, learning_rates):
        self._gain2 = (1 - self._beta2) / (learning_rates * learning_rates)
        return learning_rates

    def update(self, step):
        rmsprop_rule(
            self.params,
            self.grads,
            self.state["s"],
            self._tmp,
            self._beta2,
            self._gain2,
            self._eps,
            self.inside,
        )


class AdamRows(RowGroup):
    """Adam with ``(1 - beta1) g`` given; AdamW (``decoupled``) first multiplies ``W`` by
    ``1 - lr weight_decay``, as ``trainer.optimizers.DecoupledWeightDecay`` does.

    The bias corrections depend on the step, so the coefficients ``(eps', rate)`` of
    ``adam_coefficients`` are computed for ``TABLE_STEPS`` steps at a time, ``(steps, k, 1)`` each: a
    handful of NumPy calls per table instead of per step.
    """

    slots = ("v", "s")
    decoupled = False
    TABLE_STEPS = 32

    def __init__(self, configs, params, grads):
        super().__init__(configs, params, grads)
        self._beta1, self._beta2 = self._hyper("beta1"), self._hyper("beta2")
        self._epsilon, self._weight_decay = self._hyper("epsilon"), self._hyper("weight_decay")
        self._gain2 = column([(1 - c.beta2) / (1 - c.beta1) ** 2 for c in configs])  # as Adam's
        self._learning_rates = self._decay = np.zeros(())  # set by start_epoch
        self._first_step, self._eps, self._rate = 0, np.empty(0), np.empty(0)

    def start_epoch(self, learning_rates):
        self._learning_rates = learning_rates
        self._decay = 1 - learning_rates * self._weight_decay
        self._eps = self._eps[:0]  # the tables held the old rates
        return 1 - self._beta1

    def update(self, step):
        index = step - self._first_step
        if not 0 <= index < len(self._eps):
            steps = np.arange(step, step + self.TABLE_STEPS).reshape(-1, 1, 1)
            eps, rate = adam_coefficients(
                self._beta1, self._beta2, self._epsilon, self.inside, steps, self._learning_rates, np.sqrt
            )
            self._eps, self._rate = _per_step(eps), _per_step(rate)
            self._first_step, index = step, 0
        if self.decoupled:
            np.multiply(self.params, self._decay, self.params)
        adam_rule(
            self.params, self.grads, self.state["v"], self.state["s"], self._tmp,
            self._beta1, self._beta2, self._gain2, self._eps[index, ...], self._rate[index, ...], self.inside,
        )  # fmt: skip


def _per_step(table: np.ndarray) -> np.ndarray:
    """A ``(steps, k, 1)`` table, or ``(steps,)`` when every row shares the value: ``table[i, ...]`` is
    then 0-d, which NumPy applies in one contiguous loop."""
    return table.reshape(-1) if table.shape[1:] == (1, 1) else table


class AdamWRows(AdamRows):
    decoupled = True


ROW_GROUPS: dict[str, type[RowGroup]] = {
    "gd": GradientDescentRows,
    "momentum": MomentumRows,
    "nesterov": NesterovRows,
    "rmsprop": RMSPropRows,
    "adam": AdamRows,
    "adamw": AdamWRows,
}
