"""Stacked training: several runs on the same data as one computation, each member with its own life.

The members share the data, the layer sizes, the mini-batches (their size and every epoch's shuffle), the
epochs, the recording and the validation split (``trainer.stacking.stack_key``); they may differ in
optimizer, every hyperparameter, learning rate, decay and ``init_seed``. In the spirit of ``torch.func``
model ensembling, parameters and optimizer state carry a leading member axis: each mini-batch is one
forward and one backward pass over all members (``trainer.stacked_backprop``) and one update per optimizer
group (``trainer.stacked_optimizers``).

- **Each member equals its solo run** ``Training(X, Y, config).run()``: the same steps and cost points,
  and parameters and costs equal within a few ulps (the tests hold them to 1e-10).
- **Each member has its own life**: ``should_stop`` can stop any members before any step; a member whose
  cost or parameters stop being finite ends with "diverged at epoch N", keeping its cost points and its
  epoch count; the others go on, unchanged, in a smaller stack (``trainer.live_stack``).
- **Checkpoints** between epochs (``StackCheckpoint``) hold every member's state; resuming from one gives
  every member a bitwise equal end result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence

import numpy as np

from trainer.batches import MiniBatches
from trainer.config import TrainConfig
from trainer.data import check_arrays, split_validation
from trainer.errors import CheckpointError
from trainer.live_stack import LiveStack
from trainer.network import initialize_parameters, layer_sizes, pack, parameter_count, unpack
from trainer.optimizers import make_optimizer
from trainer.schedules import learning_rate_for_epoch
from trainer.stack_checkpoint import COMPLETED, DIVERGED, RUNNING, STOPPED, MemberState, StackCheckpoint
from trainer.stack_members import MemberRecords, MemberResult
from trainer.stacking import check_stack
from trainer.train import CostPoint

OnPoint = Callable[[int, CostPoint], None]
OnDone = Callable[[int, MemberResult], None]


class StackedTraining:
    """One stack of runs, member ``i`` with ``configs[i]``, on ``X`` (features x examples) and ``Y``."""

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        configs: Sequence[TrainConfig],
        *,
        resume: StackCheckpoint | None = None,
    ) -> None:
        self.configs = configs = list(configs)
        check_stack(configs)
        shared = configs[0]
        X, Y = check_arrays(X, Y)
        self.validation: tuple[np.ndarray, np.ndarray] | None = None
        if shared.validation_fraction > 0:
            X, Y, X_val, Y_val = split_validation(X, Y, shared.validation_fraction, shared.seed)
            self.validation = (X_val, Y_val)
        self.X, self.Y = X, Y
        self.sizes = layer_sizes(X.shape[0], shared.layers)
        self._batches = MiniBatches(
            X, Y, min(shared.mini_batch_size or X.shape[1], X.shape[1]), sign_of_one=1.0
        )
        n, size = len(configs), parameter_count(self.sizes)
        self.records = MemberRecords(n)
        self.epoch, self.step, self._mid_epoch = 0, 0, False
        self._rates: np.ndarray | None = None  # the live rows' learning rates, None for a new live stack
        self._decaying = False  # does a live member decay its learning rate?
        slots = [tuple(make_optimizer(c.optimizer).init(0)) for c in configs]
        if resume is None:
            initial = [pack(initialize_parameters(self.sizes, c.init_seed), self.sizes) for c in configs]
            saved = [(p, {name: np.zeros(size) for name in s}) for p, s in zip(initial, slots, strict=True)]
        else:
            saved = self._restore(resume, slots, size)
        running = np.flatnonzero(self.records.status == RUNNING).tolist()
        self._live: LiveStack | None = None
        if running:
            self._live = LiveStack(
                self.sizes,
                sorted({batch.size for batch in self._batches.batches}),
                running,
                [configs[i].optimizer for i in running],
                [saved[i][0] for i in running],
                [saved[i][1] for i in running],
            )

    def _restore(
        self, checkpoint: StackCheckpoint, slots: list[tuple[str, ...]], size: int
    ) -> list[MemberState]:
        names = tuple(c.optimizer.name for c in self.configs)
        if checkpoint.layer_sizes != self.sizes or checkpoint.optimizers != names:
            raise CheckpointError(
                f"checkpoint of a stack of {list(checkpoint.optimizers)} nets {list(checkpoint.layer_sizes)}"
                f" does not fit this stack of {list(names)} nets {list(self.sizes)}"
            )
        if not 0 <= checkpoint.epoch <= self.configs[0].epochs:
            raise CheckpointError("stack checkpoint does not fit this stack")
        saved = checkpoint.members(slots, size)
        self.epoch, self.step = checkpoint.epoch, checkpoint.step
        self.records.restore(checkpoint, saved)
        return saved

    def checkpoint(self) -> StackCheckpoint:
        """A copy of every member's state after the last epoch the stack completed."""
        if self._mid_epoch:
            raise CheckpointError("a stack stopped mid-epoch cannot be checkpointed")
        records = self.records
        return StackCheckpoint.of_members(
            self.epoch,
            self.step,
            self.sizes,
            tuple(c.optimizer.name for c in self.configs),
            [self._member_state(member) for member in range(len(self.configs))],
            records.status.copy(),
            records.epochs_completed.copy(),
            records.steps.copy(),
        )

    def member_vector(self, member: int) -> np.ndarray:
        """Member ``member``'s current parameters as one flat vector (``pack``'s layout), its last once it
        ended: a view of the stack's own, valid until the next step."""
        if member in self.records.ended:
            return self.records.ended[member][0]
        return self._live.parameters[self._live.members.index(member)]

    def member_parameters(self, member: int) -> dict[str, np.ndarray]:
        """Member ``member``'s current ``W1, b1 ... WL, bL`` (fresh arrays; its last ones once it ended)."""
        return unpack(self.member_vector(member), self.sizes)

    def _member_state(self, member: int) -> MemberState:
        if member in self.records.ended:
            parameters, state = self.records.ended[member]
            return parameters.copy(), {name: vector.copy() for name, vector in state.items()}
        return self._live.member_state(self._live.members.index(member))

    def run(
        self,
        *,
        on_point: OnPoint | None = None,
        on_epoch: Callable[[int], None] | None = None,
        on_done: OnDone | None = None,
        should_stop: Callable[[], Collection[int]] | None = None,
    ) -> list[MemberResult]:
        """Train every member up to the shared ``epochs``; return their results in member order.

        ``should_stop`` is asked before every step and returns the members to stop now (none: an empty
        collection; the whole stack: every index); a stopped member's result says ``stopped`` and how
        far it got. ``on_point(member, point)`` gets each cost point as it is recorded, ``on_epoch`` the
        number of epochs the stack completed after each one (``checkpoint()`` may be called there), and
        ``on_done(member, result)`` each member's result as soon as the member ends: stopped, diverged,
        or done with the last epoch.
        """
        shared, batches = self.configs[0], self._batches
        started = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(self.epoch + 1, shared.epochs + 1):
                if self._live is None:
                    break
                record = (epoch - 1) % shared.record_every == 0 or epoch == shared.epochs
                batches.shuffle(shared.seed + epoch, signs=True, labels=record)
                self._start_epoch(epoch)
                costs = np.zeros(len(self._live.members)) if record else None
                costs = self._steps(epoch, costs, should_stop, started, on_done)
                if self._live is None:
                    break
                self._finish_epoch(epoch, costs, started, on_point, on_done)
                if on_epoch is not None:
                    on_epoch(epoch)
        if self._live is not None and self.epoch == shared.epochs:
            self._end(self._live.members, COMPLETED, None, started, on_done)
        return [self._result(member) for member in range(len(self.configs))]

    def _steps(self, epoch, costs, should_stop, started, on_done) -> np.ndarray | None:
        """The epoch's steps; return the live rows' summed costs (None when the epoch records none)."""
        batches, step = self._batches, self.step
        plan = self._plan()
        self._mid_epoch = True
        for index in range(len(plan)):
            if should_stop is not None and (stopping := should_stop()):
                costs = self._end(stopping, STOPPED, costs, started, on_done)
                if self._live is None:
                    break
                self._start_epoch(epoch)
                plan = self._plan()
            rows, inputs, flips, labels, gradient, update = plan[index]
            if rows is not None:
                batches.gather(rows, inputs)
            gradient(inputs, flips, labels, costs)
            step += 1
            update(step)
            self.step = step
        return costs

    def _finish_epoch(self, epoch, costs, started, on_point, on_done) -> None:
        """End the members that diverged in ``epoch``; count the epoch for the others and record their
        points."""
        self._mid_epoch = False
        finite = self._live.finite_rows(costs)
        if not finite.all():
            diverged = [self._live.members[row] for row in np.flatnonzero(~finite)]
            costs = self._end(diverged, DIVERGED, costs, started, on_done)
        self.epoch = epoch
        if self._live is not None:
            means = None if costs is None else costs / self._batches.labels.size
            self.records.count_epoch(self._live.member_array, epoch, self.step, means, on_point)

    def _start_epoch(self, epoch: int) -> None:
        """Give the live rows their learning rates for ``epoch`` when they may change: in a new live
        stack, and every epoch when a member decays its rate."""
        live = self._live
        if self._rates is not None and not self._decaying:
            return
        configs = [self.configs[member] for member in live.members]
        self._decaying = any(c.decay.name != "none" for c in configs)
        rates = np.array(
            [learning_rate_for_epoch(c.optimizer.learning_rate, c.decay, epoch) for c in configs]
        )
        if self._rates is None or not np.array_equal(rates, self._rates):
            live.start_epoch(rates)
            self._rates = rates

    def _plan(self) -> list[tuple]:
        """Per mini-batch: its rows, inputs, signs (``2 Y - 1``) and labels, the live stack's pass for its
        size and update (made once per live stack)."""
        live = self._live
        if live.plan is None:
            live.plan = [
                (b.rows, b.inputs, b.signs, b.labels, live.passes[b.size].gradient, live.update)
                for b in self._batches.batches
            ]
        return live.plan

    def _end(
        self,
        members: Collection[int],
        status: int,
        costs: np.ndarray | None,
        started: float,
        on_done: OnDone | None,
    ) -> np.ndarray | None:
        """End ``members`` (those still live) with ``status``; return the other rows' ``costs``."""
        live = self._live
        rows = sorted({live.members.index(member) for member in members if member in live.members})
        seconds = time.perf_counter() - started
        for row in rows:
            self.records.end(live.members[row], status, live.member_state(row), self.step, seconds)
        if rows:
            self._live, self._rates = live.without(rows), None
        if on_done is not None:
            for member in sorted(live.members[row] for row in rows):
                on_done(member, self._result(member))
        return None if costs is None else np.delete(costs, rows)

    def _result(self, member: int) -> MemberResult:
        parameters, _ = self._member_state(member)
        return self.records.result(member, parameters, self.sizes, (self.X, self.Y), self.validation)
