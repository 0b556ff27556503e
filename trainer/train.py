"""The training loop: the course's ``model()`` with mini-batches, cost history, cancel and checkpoints.

Epochs count from 1. Epoch ``k`` shuffles with the course's ``random_mini_batches`` (``trainer.batches``):
``np.random.seed(seed + k)``, ``permutation(m)``, full slices of ``mini_batch_size`` and a smaller last one.
The optimizer's step counter ``t`` counts mini-batches from 1 over the whole run. A cost point is the mean
binary cross-entropy over the epoch's examples, each mini-batch's cost taken in its forward pass before its
update (the notebook's ``cost_avg``); points are recorded at epochs 1, 1 + record_every, ... and at the last
epoch. The cost is only computed on those epochs; the parameters are checked for NaN/inf after every epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainer.backprop import Backprop
from trainer.batches import MiniBatches
from trainer.checkpoint import Checkpoint
from trainer.config import TrainConfig, validate_config
from trainer.data import check_arrays, split_validation
from trainer.errors import CheckpointError, DivergedError
from trainer.network import accuracy, initialize_parameters, layer_sizes, pack, unpack
from trainer.optimizers import make_optimizer
from trainer.schedules import learning_rate_for_epoch


@dataclass(frozen=True)
class CostPoint:
    """The mean cost of epoch ``epoch`` (counting from 1)."""

    epoch: int
    cost: float


@dataclass
class TrainResult:
    """What a run leaves: parameters ``W1, b1 ... WL, bL``, the points it recorded, accuracies, timing."""

    parameters: dict[str, np.ndarray]
    costs: list[CostPoint]
    accuracy: float
    validation_accuracy: float | None
    final_cost: float | None
    epochs_completed: int
    steps: int
    seconds: float
    stopped: bool


class Training:
    """One run of ``config`` on ``X`` (features x examples) and ``Y`` (labels 0/1)."""

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        config: TrainConfig | None = None,
        *,
        resume: Checkpoint | None = None,
    ) -> None:
        self.config = config = config or TrainConfig()
        validate_config(config)
        X, Y = check_arrays(X, Y)
        self.validation: tuple[np.ndarray, np.ndarray] | None = None
        if config.validation_fraction > 0:
            X, Y, X_val, Y_val = split_validation(X, Y, config.validation_fraction, config.seed)
            self.validation = (X_val, Y_val)
        self.X, self.Y = X, Y
        n_features, m = X.shape
        self.sizes = layer_sizes(n_features, config.layers)
        self.batch = min(config.mini_batch_size or m, m)
        self._batches = MiniBatches(X, Y, self.batch)
        self._parameters = pack(initialize_parameters(self.sizes, config.init_seed), self.sizes)
        self._gradient = np.zeros_like(self._parameters)
        self._optimizer = make_optimizer(config.optimizer)
        self._state = self._optimizer.init(self._parameters.size)
        self.epoch = 0
        self.step = 0
        self._mid_epoch = False
        if resume is not None:
            self._restore(resume)

    def _restore(self, checkpoint: Checkpoint) -> None:
        if checkpoint.layer_sizes != self.sizes or checkpoint.optimizer != self.config.optimizer.name:
            raise CheckpointError(
                f"checkpoint of a {checkpoint.optimizer} net {list(checkpoint.layer_sizes)} does not fit "
                f"this {self.config.optimizer.name} net {list(self.sizes)}"
            )
        if set(checkpoint.state) != set(self._state) or not 0 <= checkpoint.epoch <= self.config.epochs:
            raise CheckpointError("checkpoint state does not fit this run")
        self._parameters[:] = checkpoint.parameters
        for name, vector in checkpoint.state.items():
            self._state[name][:] = vector
        self.epoch, self.step = checkpoint.epoch, checkpoint.step

    def checkpoint(self) -> Checkpoint:
        """A copy of the state after the last completed epoch."""
        if self._mid_epoch:
            raise CheckpointError("a run stopped mid-epoch cannot be checkpointed")
        return Checkpoint(
            epoch=self.epoch,
            step=self.step,
            parameters=self._parameters.copy(),
            state={name: vector.copy() for name, vector in self._state.items()},
            layer_sizes=self.sizes,
            optimizer=self.config.optimizer.name,
        )

    def parameters(self) -> dict[str, np.ndarray]:
        """The current ``W1, b1 ... WL, bL``."""
        return unpack(self._parameters, self.sizes)

    def parameter_vector(self) -> np.ndarray:
        """The current parameters as one flat vector (``pack``'s layout): a view of the run's own, valid
        until the next step."""
        return self._parameters

    def run(
        self,
        *,
        on_point: Callable[[CostPoint], None] | None = None,
        on_epoch: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainResult:
        """Train up to ``config.epochs``; ``should_stop`` is asked before every step.

        ``on_point`` gets each cost point as it is recorded, ``on_epoch`` the number of completed epochs
        after each epoch (``checkpoint()`` may be called there). Raises ``DivergedError`` when the cost or
        the parameters stop being finite.
        """
        config, batches = self.config, self._batches
        m = batches.labels.size
        plan = self._plan()
        params, grad, state = self._parameters, self._gradient, self._state
        # The optimizer's private fast path: the backward pass writes _gain(lr) * g (trainer.optimizers).
        update = self._optimizer._update_scaled
        costs: list[CostPoint] = []
        step, stopped = self.step, False
        started = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(self.epoch + 1, config.epochs + 1):
                lr = learning_rate_for_epoch(config.optimizer.learning_rate, config.decay, epoch)
                gain = self._optimizer._gain(lr)
                record = (epoch - 1) % config.record_every == 0 or epoch == config.epochs
                batches.shuffle(config.seed + epoch, signs=True, labels=record)
                cost = 0.0
                self._mid_epoch = True
                for rows, batch_inputs, batch_signs, batch_labels, gradient in plan:
                    if should_stop is not None and should_stop():
                        stopped = True
                        break
                    if rows is not None:
                        batches.gather(rows, batch_inputs)
                    cost += gradient(batch_inputs, batch_signs, batch_labels if record else None, gain)
                    step += 1
                    update(params, grad, state, step, lr)
                self.step = step
                if stopped:
                    break
                self._mid_epoch = False
                if not (math.isfinite(cost) and math.isfinite(float(params @ params))):
                    raise DivergedError(epoch)
                self.epoch = epoch
                if record:
                    point = CostPoint(epoch, cost / m)
                    costs.append(point)
                    if on_point is not None:
                        on_point(point)
                if on_epoch is not None:
                    on_epoch(epoch)
        seconds = time.perf_counter() - started
        return self._result(costs, seconds, stopped)

    def _plan(self) -> list[tuple]:
        """Per mini-batch (``trainer.batches.Batch``): its rows, inputs, signs and labels, and the gradient
        pass for its size."""
        passes: dict[int, Backprop] = {}
        for batch in self._batches.batches:
            if batch.size not in passes:
                passes[batch.size] = Backprop(self.sizes, self._parameters, self._gradient, batch.size)
        return [(b.rows, b.inputs, b.signs, b.labels, passes[b.size].gradient) for b in self._batches.batches]

    def _result(self, costs: list[CostPoint], seconds: float, stopped: bool) -> TrainResult:
        parameters = self.parameters()
        validation = None if self.validation is None else accuracy(parameters, *self.validation)
        return TrainResult(
            parameters=parameters,
            costs=costs,
            accuracy=accuracy(parameters, self.X, self.Y),
            validation_accuracy=validation,
            final_cost=costs[-1].cost if costs else None,
            epochs_completed=self.epoch,
            steps=self.step,
            seconds=seconds,
            stopped=stopped,
        )


def train(X: np.ndarray, Y: np.ndarray, config: TrainConfig | None = None, **run_kwargs) -> TrainResult:
    """``Training(X, Y, config).run(**run_kwargs)``."""
    return Training(X, Y, config).run(**run_kwargs)
