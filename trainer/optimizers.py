"""Optimizers as small pieces with explicit state, working in place on flat vectors.

Convention: ``g`` is the gradient of the mean cost, ``lr`` the learning rate of the current epoch, ``t``
the step counter starting at 1, every update *subtracts*. The moment averages keep the course's
``(1 - beta)`` factor and start at zeros.

=========  ==================================================================================
gd         W -= lr * g
momentum   v = beta v + (1 - beta) g;             W -= lr * v
nesterov   v = beta v + (1 - beta) g;             W -= lr * (beta v + (1 - beta) g)
rmsprop    s = beta2 s + (1 - beta2) g^2;         W -= lr * g / sqrt(s + eps)
adam       v = beta1 v + (1 - beta1) g;           s = beta2 s + (1 - beta2) g^2
           v_c = v / (1 - beta1^t);  s_c = s / (1 - beta2^t);   W -= lr * v_c / sqrt(s_c + eps)
adamw      W -= lr * weight_decay * W   (decoupled, as torch.optim.AdamW), then the adam step
=========  ==================================================================================

``eps`` sits inside the square root as the course writes it; ``epsilon_inside_sqrt=False`` puts it
outside, ``/ (sqrt(s_c) + eps)``, as PyTorch does (Keras adds it to the root of the *uncorrected* ``s``,
which is not the same). Nesterov is the look-ahead form of the course's momentum. AdamW is
``DecoupledWeightDecay`` around ``Adam``. The exact torch.optim equivalents (momentum is
``SGD(lr * (1 - beta), momentum=beta)``, not ``dampening=beta``) are in docs/optimizers.md, checked by
``bench/torch_mappings.py``.

The public contract is ``update(params, grads, state, step, learning_rate)`` with the plain ``g``, as
scikit-learn's ``update_params`` and optax's ``update`` take it.

Private to the trainer: each rule first multiplies ``g`` by a factor, its ``_gain(lr)`` (``lr`` for gd and
rmsprop, ``1 - beta`` for momentum and nesterov, ``1 - beta1`` for adam). The trainer folds that factor into
the backward pass, whose output delta (one value per example) it multiplies anyway, and hands the product
``_gain(lr) * g`` to ``_update_scaled``: the pass over every parameter that the multiplication would cost
is gone. ``update`` is ``_update_scaled`` after that multiplication. The rules themselves are pure
functions of vectors and coefficients (``trainer.rules``); the classes here keep the state's layout, the
step's coefficients and the blocks.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np

from trainer.config import OptimizerConfig
from trainer.errors import ConfigError
from trainer.rules import adam_coefficients, adam_rule, gd_rule, momentum_rule, rmsprop_rule

State = dict[str, np.ndarray]

CHUNK = 32768  # parameters per block of an update: 256 KiB per vector


class Optimizer(Protocol):
    """``init(size) -> state`` and an in-place ``update`` with the plain mean gradient.

    The state is a dict of flat vectors named by ``slots``. ``update`` changes the parameters and the
    state's vectors in place, and keeps views of the vectors of its last call: replace a vector's
    contents (``state["v"][:] = ...``), not the vector itself. ``_gain`` and ``_update_scaled`` are the
    trainer's private fast path (module docstring)."""

    slots: tuple[str, ...]

    def init(self, size: int) -> State: ...

    def update(
        self, params: np.ndarray, grads: np.ndarray, state: State, step: int, learning_rate: float
    ) -> None: ...

    def _gain(self, learning_rate: float) -> float: ...

    def _update_scaled(
        self, params: np.ndarray, scaled_grads: np.ndarray, state: State, step: int, learning_rate: float
    ) -> None: ...


def _scalar(value: float = 0.0) -> np.ndarray:
    """A 0-d array: NumPy multiplies an array by it about twice as fast as by a Python float, which
    matters when the arrays are small and a step is a few dozen calls."""
    return np.array(value, dtype=np.float64)


class _Optimizer:
    """The shared update: set the step's coefficients (``_prepare``), then apply the pure rule
    (``_rule``) to blocks of ``CHUNK`` parameters at a time.

    A rule is a few passes over its vectors. Over a whole large net (the wide job's 246k parameters make
    five 2 MB vectors) each pass goes back to memory; a block's vectors stay in cache from one pass to
    the next, which makes the wide job's Adam step about 12 % faster. A small net is one block. Each block
    is the rule's whole argument tuple: views of the vectors, of one scratch vector (when ``scratch``),
    and the 0-d coefficient arrays that ``_prepare`` rewrites in place.
    """

    slots: ClassVar[tuple[str, ...]] = ()
    scratch: ClassVar[bool] = True

    def __init__(self, config: OptimizerConfig) -> None:
        self.config = config
        self._vectors: tuple = ()
        self._blocks: list[tuple] = []
        self._scaled = np.empty(0)
        self._gain_now = _scalar()

    def init(self, size: int) -> State:
        return {name: np.zeros(size) for name in self.slots}

    def update(self, params, grads, state, step, learning_rate) -> None:
        """Apply the rule of the module docstring's table to the plain mean gradient ``grads``."""
        if self._scaled.shape != grads.shape:
            self._scaled = np.empty_like(grads)
        self._gain_now[()] = self._gain(learning_rate)
        np.multiply(grads, self._gain_now, self._scaled)
        self._update_scaled(params, self._scaled, state, step, learning_rate)

    def _update_scaled(self, params, scaled_grads, state, step, learning_rate) -> None:
        """The rule applied to ``scaled_grads = _gain(learning_rate) * g`` (private: the trainer's path)."""
        self._prepare(step, learning_rate)
        vectors = self._vectors
        if (
            not vectors
            or params is not vectors[0]
            or scaled_grads is not vectors[1]
            or state is not vectors[2]
        ):
            self._bind(params, scaled_grads, state)
        rule = self._rule
        for block in self._blocks:
            rule(*block)

    def _bind(self, params: np.ndarray, scaled_grads: np.ndarray, state: State) -> None:
        """Split the vectors into blocks of ``CHUNK``, each with its own view of one scratch vector. The
        blocks are kept for the next call with the same vectors (the trainer's every step)."""
        size = params.size
        vectors = (params, scaled_grads, *(state[name] for name in self.slots))
        scratch = (np.empty(min(size, CHUNK)),) if self.scratch else ()  # one, shared: it stays in cache
        self._vectors = (params, scaled_grads, state)
        self._blocks = [
            (
                *(vector[start : start + CHUNK] for vector in vectors),
                *(tmp[: min(CHUNK, size - start)] for tmp in scratch),
                *self._coefficients(),
            )
            for start in range(0, size, CHUNK)
        ]

    def _gain(self, learning_rate: float) -> float:
        """The factor the rule multiplies ``g`` by first (private: see the module docstring)."""
        raise NotImplementedError

    def _prepare(self, step: int, learning_rate: float) -> None:
        """Rewrite this step's coefficients in place."""

    def _coefficients(self) -> tuple:
        """The rule's arguments after the vectors: 0-d coefficient arrays and flags."""
        return ()


class GradientDescent(_Optimizer):
    """``W -= lr * g``: ``gd_rule`` with ``lr * g`` given."""

    scratch = False
    _rule = staticmethod(gd_rule)

    def _gain(self, learning_rate: float) -> float:
        return learning_rate


class Momentum(_Optimizer):
    """``v = beta v + (1 - beta) g;  W -= lr * v``, or Nesterov's ``W -= lr * (beta v + (1 - beta) g)``:
    ``momentum_rule`` with ``(1 - beta) g`` given."""

    slots = ("v",)
    _rule = staticmethod(momentum_rule)

    def __init__(self, config: OptimizerConfig, nesterov: bool = False) -> None:
        super().__init__(config)
        self.nesterov = nesterov
        self._beta, self._rate = _scalar(config.beta), _scalar()

    def _gain(self, learning_rate: float) -> float:
        return 1 - self.config.beta

    def _prepare(self, step, learning_rate) -> None:
        self._rate[()] = learning_rate

    def _coefficients(self) -> tuple:
        return self._beta, self._rate, self.nesterov


class RMSProp(_Optimizer):
    """``s = beta2 s + (1 - beta2) g^2;  W -= lr * g / sqrt(s + eps)``: ``rmsprop_rule`` with ``lr * g``
    given, and ``(1 - beta2) / lr^2`` as the gain of its square."""

    slots = ("s",)
    _rule = staticmethod(rmsprop_rule)

    def __init__(self, config: OptimizerConfig) -> None:
        super().__init__(config)
        self._beta2, self._eps, self._gain2 = _scalar(config.beta2), _scalar(config.epsilon), _scalar()

    def _gain(self, learning_rate: float) -> float:
        return learning_rate

    def _prepare(self, step, learning_rate) -> None:
        self._gain2[()] = (1 - self.config.beta2) / (learning_rate * learning_rate)

    def _coefficients(self) -> tuple:
        return self._beta2, self._gain2, self._eps, self.config.epsilon_inside_sqrt


class Adam(_Optimizer):
    """Bias-corrected moments, ``W -= lr * v_c / sqrt(s_c + eps)``: ``adam_rule`` with ``(1 - beta1) g``
    given and the coefficients of ``adam_coefficients``."""

    slots = ("v", "s")
    _rule = staticmethod(adam_rule)

    def __init__(self, config: OptimizerConfig) -> None:
        super().__init__(config)
        self._beta1, self._beta2 = _scalar(config.beta1), _scalar(config.beta2)
        self._gain2 = _scalar((1 - config.beta2) / (1 - config.beta1) ** 2)
        self._eps, self._rate = _scalar(), _scalar()

    def _gain(self, learning_rate: float) -> float:
        return 1 - self.config.beta1

    def _prepare(self, step, learning_rate) -> None:
        c = self.config
        self._eps[()], self._rate[()] = adam_coefficients(
            c.beta1, c.beta2, c.epsilon, c.epsilon_inside_sqrt, step, learning_rate
        )

    def _coefficients(self) -> tuple:
        inside = self.config.epsilon_inside_sqrt
        return self._beta1, self._beta2, self._gain2, self._eps, self._rate, inside


class DecoupledWeightDecay:
    """``W -= lr * weight_decay * W``, then ``inner``'s step (AdamW is this around ``Adam``, as
    torch.optim.AdamW). The decay is written ``W *= 1 - lr * weight_decay``: one pass."""

    def __init__(self, inner: _Optimizer, weight_decay: float) -> None:
        self.inner = inner
        self.slots = inner.slots
        self.weight_decay = weight_decay
        self._factor = _scalar()

    def init(self, size: int) -> State:
        return self.inner.init(size)

    def update(self, params, grads, state, step, learning_rate) -> None:
        """Decay ``params``, then ``inner.update`` with the plain mean gradient ``grads``."""
        self._decay(params, learning_rate)
        self.inner.update(params, grads, state, step, learning_rate)

    def _gain(self, learning_rate: float) -> float:
        return self.inner._gain(learning_rate)

    def _update_scaled(self, params, scaled_grads, state, step, learning_rate) -> None:
        self._decay(params, learning_rate)
        self.inner._update_scaled(params, scaled_grads, state, step, learning_rate)

    def _decay(self, params: np.ndarray, learning_rate: float) -> None:
        self._factor[()] = 1 - learning_rate * self.weight_decay
        np.multiply(params, self._factor, params)


def make_optimizer(config: OptimizerConfig) -> Optimizer:
    """The optimizer named by ``config.name``."""
    factories = {
        "gd": lambda: GradientDescent(config),
        "momentum": lambda: Momentum(config),
        "nesterov": lambda: Momentum(config, nesterov=True),
        "rmsprop": lambda: RMSProp(config),
        "adam": lambda: Adam(config),
        "adamw": lambda: DecoupledWeightDecay(Adam(config), config.weight_decay),
    }
    if config.name not in factories:
        raise ConfigError(f"unknown optimizer {config.name!r}; choose one of {', '.join(factories)}")
    return factories[config.name]()
