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
which is not the same). Nesterov is the look-ahead form of the course's momentum. The exact torch.optim
equivalents (momentum is ``SGD(lr * (1 - beta), momentum=beta)``, not ``dampening=beta``) are in
docs/optimizers.md, checked by ``bench/torch_mappings.py``.

``update`` takes the gradient already multiplied by the optimizer's ``gain(lr)``: ``lr`` for gd (whose step
is then ``W -= grads``), ``1 - beta`` for the moment averages, ``lr`` for rmsprop. The trainer multiplies the
backward pass's output delta, one value per example, by that gain, so the multiplication that would
otherwise be the first pass over every parameter costs nothing.
"""

from __future__ import annotations

import math
from typing import ClassVar, Protocol

import numpy as np

from trainer.config import OptimizerConfig
from trainer.errors import ConfigError

State = dict[str, np.ndarray]

CHUNK = 32768  # parameters per block of an update: 256 KiB per vector


class Optimizer(Protocol):
    """``init(size) -> state``, the ``gain`` its gradients come multiplied by, and an in-place ``update``.

    The state is a dict of flat vectors named by ``slots``. ``update`` changes the parameters and the
    state's vectors in place, and keeps views of the vectors of its last call: replace a vector's
    contents (``state["v"][:] = ...``), not the vector itself."""

    slots: tuple[str, ...]

    def init(self, size: int) -> State: ...

    def gain(self, learning_rate: float) -> float: ...

    def update(
        self, params: np.ndarray, grads: np.ndarray, state: State, step: int, learning_rate: float
    ) -> None: ...


def _scalar(value: float = 0.0) -> np.ndarray:
    """A 0-d array: NumPy multiplies an array by it about twice as fast as by a Python float, which
    matters when the arrays are small and a step is a few dozen calls."""
    return np.array(value, dtype=np.float64)


class _Optimizer:
    """The shared ``update``: set the step's coefficients (``_prepare``), then apply the rule (``_apply``)
    to blocks of ``CHUNK`` parameters at a time.

    A rule is a few passes over its vectors. Over a whole large net (the wide job's 246k parameters make
    five 2 MB vectors) each pass goes back to memory; a block's vectors stay in cache from one pass to
    the next, which makes the wide job's Adam step about 12 % faster. A small net is one block.
    """

    slots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: OptimizerConfig) -> None:
        self.config = config
        self._vectors: tuple = ()
        self._blocks: list[tuple[np.ndarray, ...]] = []

    def init(self, size: int) -> State:
        return {name: np.zeros(size) for name in self.slots}

    def update(self, params, grads, state, step, learning_rate) -> None:
        self._prepare(step, learning_rate)
        vectors = self._vectors
        if not vectors or params is not vectors[0] or grads is not vectors[1] or state is not vectors[2]:
            self._bind(params, grads, state)
        for block in self._blocks:
            self._apply(*block)

    def _bind(self, params: np.ndarray, grads: np.ndarray, state: State) -> None:
        """Split the vectors into blocks of ``CHUNK``, each with its own view of one scratch vector. The
        blocks are kept for the next call with the same vectors (the trainer's every step)."""
        size = params.size
        vectors = (params, grads, *(state[name] for name in self.slots))
        scratch = np.empty(min(size, CHUNK))
        self._vectors = (params, grads, state)
        self._blocks = [
            (*(vector[start : start + CHUNK] for vector in vectors), scratch[: min(CHUNK, size - start)])
            for start in range(0, size, CHUNK)
        ]

    def _prepare(self, step: int, learning_rate: float) -> None:
        """Set this step's coefficients."""

    def _apply(self, params: np.ndarray, grads: np.ndarray, *slots_and_scratch: np.ndarray) -> None:
        """Apply the rule in place to one block: the parameters, the gradients, the ``slots``, a scratch."""
        raise NotImplementedError


class GradientDescent(_Optimizer):
    """``W -= lr * g``; the gradient comes as ``lr * g``."""

    def gain(self, learning_rate: float) -> float:
        return learning_rate

    def _apply(self, params, grads, tmp) -> None:
        np.subtract(params, grads, params)


class Momentum(_Optimizer):
    """``v = beta v + (1 - beta) g;  W -= lr * v``; Nesterov: ``W -= lr * (beta v + (1 - beta) g)``.
    The gradient comes as ``(1 - beta) g``."""

    slots = ("v",)

    def __init__(self, config: OptimizerConfig, nesterov: bool = False) -> None:
        super().__init__(config)
        self.nesterov = nesterov
        self._beta, self._rate = _scalar(config.beta), _scalar()

    def gain(self, learning_rate: float) -> float:
        return 1 - self.config.beta

    def _prepare(self, step, learning_rate) -> None:
        self._rate[()] = learning_rate

    def _apply(self, params, grads, v, tmp) -> None:
        np.multiply(v, self._beta, v)
        np.add(v, grads, v)
        if self.nesterov:
            np.multiply(v, self._beta, tmp)
            np.add(tmp, grads, tmp)
            np.multiply(tmp, self._rate, tmp)
        else:
            np.multiply(v, self._rate, tmp)
        np.subtract(params, tmp, params)


class RMSProp(_Optimizer):
    """``s = beta2 s + (1 - beta2) g^2;  W -= lr * g / sqrt(s + eps)``; the gradient comes as ``lr * g``."""

    slots = ("s",)

    def __init__(self, config: OptimizerConfig) -> None:
        super().__init__(config)
        self._beta2, self._eps, self._gain = _scalar(config.beta2), _scalar(config.epsilon), _scalar()

    def gain(self, learning_rate: float) -> float:
        return learning_rate

    def _prepare(self, step, learning_rate) -> None:
        self._gain[()] = (1 - self.config.beta2) / (learning_rate * learning_rate)

    def _apply(self, params, grads, s, tmp) -> None:
        _square_average(s, grads, self._beta2, self._gain, tmp)
        _root(s, self._eps, self.config.epsilon_inside_sqrt, tmp)
        np.divide(grads, tmp, tmp)
        np.subtract(params, tmp, params)


class Adam(_Optimizer):
    """Bias-corrected moments, ``W -= lr * v_c / sqrt(s_c + eps)``; AdamW first decays ``W`` by ``lr wd``.
    The gradient comes as ``(1 - beta1) g``.

    With ``c = 1 / (1 - beta2^t)``: ``sqrt(c s + eps) = sqrt(c) sqrt(s + eps / c)`` and
    ``sqrt(c s) + eps = sqrt(c) (sqrt(s) + eps / sqrt(c))``, so the correction of ``s`` joins the
    learning rate as one factor instead of costing a pass over the data.
    """

    slots = ("v", "s")

    def __init__(self, config: OptimizerConfig, decoupled_weight_decay: bool = False) -> None:
        super().__init__(config)
        self.weight_decay = config.weight_decay if decoupled_weight_decay else 0.0
        self._beta1, self._beta2 = _scalar(config.beta1), _scalar(config.beta2)
        self._gain2 = _scalar((1 - config.beta2) / (1 - config.beta1) ** 2)
        self._eps, self._rate, self._decay = _scalar(), _scalar(), _scalar()

    def gain(self, learning_rate: float) -> float:
        return 1 - self.config.beta1

    def _prepare(self, step, learning_rate) -> None:
        c = self.config
        correction = 1 / (1 - c.beta2**step)
        root = math.sqrt(correction)
        self._eps[()] = c.epsilon / correction if c.epsilon_inside_sqrt else c.epsilon / root
        self._rate[()] = learning_rate / ((1 - c.beta1**step) * root)
        self._decay[()] = 1 - learning_rate * self.weight_decay

    def _apply(self, params, grads, v, s, tmp) -> None:
        if self.weight_decay:
            np.multiply(params, self._decay, params)
        np.multiply(v, self._beta1, v)
        np.add(v, grads, v)
        _square_average(s, grads, self._beta2, self._gain2, tmp)
        _root(s, self._eps, self.config.epsilon_inside_sqrt, tmp)
        np.divide(v, tmp, tmp)
        np.multiply(tmp, self._rate, tmp)
        np.subtract(params, tmp, params)


def _square_average(
    s: np.ndarray, grads: np.ndarray, beta2: np.ndarray, gain: np.ndarray, tmp: np.ndarray
) -> None:
    """``s = beta2 s + gain grads^2`` in place (``tmp`` is overwritten): the squared-gradient average,
    with ``gain`` the ``1 - beta2`` that also undoes the factor ``grads`` came multiplied by."""
    np.multiply(grads, grads, tmp)
    np.multiply(tmp, gain, tmp)
    np.multiply(s, beta2, s)
    np.add(s, tmp, s)


def _root(s: np.ndarray, eps: np.ndarray, inside: bool, out: np.ndarray) -> None:
    """``sqrt(s + eps)`` when ``inside``, else ``sqrt(s) + eps``, into ``out``."""
    if inside:
        np.add(s, eps, out)
        np.sqrt(out, out)
    else:
        np.sqrt(s, out)
        np.add(out, eps, out)


def make_optimizer(config: OptimizerConfig) -> Optimizer:
    """The optimizer named by ``config.name``."""
    factories = {
        "gd": lambda: GradientDescent(config),
        "momentum": lambda: Momentum(config),
        "nesterov": lambda: Momentum(config, nesterov=True),
        "rmsprop": lambda: RMSProp(config),
        "adam": lambda: Adam(config),
        "adamw": lambda: Adam(config, decoupled_weight_decay=True),
    }
    if config.name not in factories:
        raise ConfigError(f"unknown optimizer {config.name!r}; choose one of {', '.join(factories)}")
    return factories[config.name]()
