"""The record of each member of a stack: how it ended, how far it got, its cost points and its result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from trainer.network import accuracy, unpack
from trainer.stack_checkpoint import DIVERGED, RUNNING, STOPPED, MemberState, StackCheckpoint
from trainer.train import CostPoint


@dataclass
class MemberResult:
    """What a member of a stack leaves: ``TrainResult``'s fields and ``error``.

    ``error`` is "diverged at epoch N" for a member that diverged (its ``accuracy`` and
    ``validation_accuracy`` are then None and its parameters are the non-finite ones it ended with),
    else None. ``seconds`` is the stack's wall time up to the member's end.
    """

    parameters: dict[str, np.ndarray]
    costs: list[CostPoint]
    accuracy: float | None
    validation_accuracy: float | None
    final_cost: float | None
    epochs_completed: int
    steps: int
    seconds: float
    stopped: bool
    error: str | None


class MemberRecords:
    """Per member: its status (``trainer.stack_checkpoint``), epochs completed, steps, cost points, the
    seconds it trained, and the parameters and optimizer state it ended with (once it ended)."""

    def __init__(self, count: int) -> None:
        self.status = np.full(count, RUNNING, dtype=np.int8)
        self.epochs_completed = np.zeros(count, dtype=np.int64)
        self.steps = np.zeros(count, dtype=np.int64)
        self.costs: list[list[CostPoint]] = [[] for _ in range(count)]
        self.seconds = np.zeros(count)
        self.ended: dict[int, MemberState] = {}

    def restore(self, checkpoint: StackCheckpoint, saved: Sequence[MemberState]) -> None:
        """Take the statuses and counts of ``checkpoint``, and the saved states of the members that ended."""
        self.status[:] = checkpoint.status
        self.epochs_completed[:] = checkpoint.epochs_completed
        self.steps[:] = checkpoint.steps
        self.ended = {member: saved[member] for member in np.flatnonzero(self.status != RUNNING).tolist()}

    def end(self, member: int, status: int, state: MemberState, step: int, seconds: float) -> None:
        self.status[member], self.steps[member], self.seconds[member] = status, step, seconds
        self.ended[member] = state

    def count_epoch(
        self,
        members: np.ndarray,
        epoch: int,
        step: int,
        costs: np.ndarray | None,
        on_point: Callable[[int, CostPoint], None] | None,
    ) -> None:
        """Count ``epoch`` for ``members`` and record their mean ``costs`` when the epoch has points (in
        member order)."""
        self.epochs_completed[members], self.steps[members] = epoch, step
        if costs is None:
            return
        order = np.argsort(members)
        for member, cost in zip(members[order].tolist(), costs[order].tolist(), strict=True):
            point = CostPoint(epoch, cost)
            self.costs[member].append(point)
            if on_point is not None:
                on_point(member, point)

    def result(
        self,
        member: int,
        parameters: np.ndarray,
        sizes: Sequence[int],
        data: tuple[np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> MemberResult:
        """Member ``member``'s result, with its flat ``parameters``; accuracies on ``data`` and
        ``validation`` unless it diverged."""
        weights = unpack(parameters, sizes)
        diverged = self.status[member] == DIVERGED
        costs = self.costs[member]
        return MemberResult(
            parameters=weights,
            costs=list(costs),
            accuracy=None if diverged else accuracy(weights, *data),
            validation_accuracy=None if validation is None or diverged else accuracy(weights, *validation),
            final_cost=costs[-1].cost if costs else None,
            epochs_completed=int(self.epochs_completed[member]),
            steps=int(self.steps[member]),
            seconds=float(self.seconds[member]),
            stopped=bool(self.status[member] == STOPPED),
            error=f"diverged at epoch {self.epochs_completed[member] + 1}" if diverged else None,
        )
