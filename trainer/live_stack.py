"""The members of a stack that are still training, as the rows of one computation.

Rows are sorted by ``group_key`` (stable, so members of one group keep their order), which makes each
optimizer group a contiguous block (``trainer.stacked_optimizers``). A member that stops or diverges leaves
by ``without``: the others' current parameters and state are copied into a smaller stack, so that every
later step costs what the remaining members cost and nothing non-finite stays in the arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence

import numpy as np

from trainer.config import OptimizerConfig
from trainer.optimizers import State
from trainer.stacked_backprop import StackedBackprop
from trainer.stacked_optimizers import ROW_GROUPS, RowGroup, column, group_key


class LiveStack:
    """Members ``members`` (indexes into the stack) with optimizers ``optimizers``, from their current
    ``parameters`` (one flat vector each, ``trainer.network``'s layout) and optimizer ``states``."""

    def __init__(
        self,
        sizes: Sequence[int],
        batch_sizes: Collection[int],
        members: Sequence[int],
        optimizers: Sequence[OptimizerConfig],
        parameters: Sequence[np.ndarray],
        states: Sequence[State],
    ) -> None:
        order = sorted(range(len(members)), key=lambda i: group_key(optimizers[i]))
        self.sizes, self.batch_sizes = tuple(sizes), tuple(batch_sizes)
        self.members = [members[i] for i in order]
        self.member_array = np.array(self.members, dtype=np.int64)
        self.optimizers = [optimizers[i] for i in order]
        self.parameters = np.array([parameters[i] for i in order], dtype=np.float64, ndmin=2)
        self.gradient = np.zeros_like(self.parameters)
        self.groups: list[RowGroup] = []
        self._rows: list[tuple[RowGroup, int]] = []  # per row: its group and its row within the group
        start = 0
        for _, rows in itertools.groupby(range(len(order)), key=lambda r: group_key(self.optimizers[r])):
            stop = start + len(list(rows))
            configs = self.optimizers[start:stop]
            group = ROW_GROUPS[configs[0].name](
                configs, self.parameters[start:stop], self.gradient[start:stop]
            )
            for row in range(start, stop):
                for name, vector in group.state.items():
                    vector[row - start] = states[order[row]][name]
                self._rows.append((group, row - start))
            self.groups.append(group)
            start = stop
        self.passes = {
            size: StackedBackprop(self.sizes, self.parameters, self.gradient, size)
            for size in self.batch_sizes
        }
        self.plan: list[tuple] | None = None  # the training loop's per mini-batch calls, made by its owner

    def start_epoch(self, learning_rates: np.ndarray) -> None:
        """Set every row's learning rate for the epoch (one value per row, in row order)."""
        gains, start = np.empty((len(self.members), 1)), 0
        for group in self.groups:
            stop = start + len(group.configs)
            gains[start:stop] = group.start_epoch(column(learning_rates[start:stop]))
            start = stop
        for backprop in self.passes.values():
            backprop.set_gains(gains[:, 0])

    def update(self, step: int) -> None:
        """Every row's optimizer step ``step`` (counting from 1) with the gradients the pass wrote."""
        for group in self.groups:
            group.update(step)

    def member_state(self, row: int) -> tuple[np.ndarray, State]:
        """Copies of row ``row``'s parameters and optimizer state."""
        group, within = self._rows[row]
        return self.parameters[row].copy(), {name: v[within].copy() for name, v in group.state.items()}

    def finite_rows(self, costs: np.ndarray | None) -> np.ndarray:
        """Per row: are its parameters (their sum of squares) and its summed cost, if given, finite?"""
        finite = np.isfinite(np.einsum("ij,ij->i", self.parameters, self.parameters))
        return finite if costs is None else finite & np.isfinite(costs)

    def without(self, rows: Collection[int]) -> LiveStack | None:
        """A stack of the other rows' members, from their current state; None when no row is left."""
        keep = [row for row in range(len(self.members)) if row not in rows]
        if not keep:
            return None
        kept = [self.member_state(row) for row in keep]
        return LiveStack(
            self.sizes,
            self.batch_sizes,
            [self.members[row] for row in keep],
            [self.optimizers[row] for row in keep],
            [parameters for parameters, _ in kept],
            [state for _, state in kept],
        )
