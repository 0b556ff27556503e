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
outside, ``/ (sqrt(s) + eps)``, as PyTorch and Keras do. Nesterov is the look-ahead form of the course's
momentum (torch's ``nesterov=True`` with the ``(1 - beta)`` factor kept).

``update`` takes ``grad_scale``: the gradient is ``grad_scale * grads``, so the trainer can pass a summed
gradient and its ``1 / m`` for free.
"""

from __future__ import annotations

import math
from typing import ClassVar, Protocol

import numpy as np

from trainer.config import OptimizerConfig
from trainer.errors import ConfigError

State = dict[str, np.ndarray]


class Optimizer(Protocol):
    """``init(size) -> state`` and an in-place ``update``; the state is a dict of flat vectors named by
    ``slots``."""

    slots: tuple[str, ...]

    def init(self, size: int) -> State: ...

    def update(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        state: State,
        step: int,
        learning_rate: float,
        grad_scale: float = 1.0,
    ) -> None: ...


def _scalar(value: float = 0.0) -> np.ndarray:
    """A 0-d array: NumPy multiplies an array by it about twice as fast as by a Python float, which
    matters when the arrays are small and a step is a few dozen calls."""
    return np.array(value, dtype=np.float64)


class _Optimizer:
    """Scratch space shared by the update rules; ``slots`` names the state vectors."""

    slots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: OptimizerConfig) -> None:
        self.config = config
        self._scratch = np.empty(0)

    def init(self, size: int) -> State:
        self._scratch = np.empty(size)
        return {name: np.zeros(size) for name in self.slots}

    def _tmp(self, size: int) -> np.ndarray:
        if self._scratch.shape[0] != size:
            self._scratch = np.empty(size)
        return self._scratch


class GradientDescent(_Optimizer):
    """``W -= lr * g``."""

    def __init__(self, config: OptimizerConfig) -> None:
        super().__init__(config)
        self._rate = _scalar()

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        tmp, rate = self._tmp(params.size), self._rate
        rate[()] = learning_rate * grad_scale
        np.multiply(grads, rate, tmp)
        np.subtract(params, tmp, params)


class Momentum(_Optimizer):
    """``v = beta v + (1 - beta) g;  W -= lr * v``; Nesterov: ``W -= lr * (beta v + (1 - beta) g)``."""

    slots = ("v",)

    def __init__(self, config: OptimizerConfig, nesterov: bool = False) -> None:
        super().__init__(config)
        self.nesterov = nesterov
        self._beta, self._gain, self._rate = _scalar(config.beta), _scalar(), _scalar()
        self._look_ahead = np.empty(0)

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        v, tmp, beta, gain, rate = state["v"], self._tmp(params.size), self._beta, self._gain, self._rate
        gain[()] = (1 - self.config.beta) * grad_scale
        rate[()] = learning_rate
        np.multiply(grads, gain, tmp)
        np.multiply(v, beta, v)
        np.add(v, tmp, v)
        if self.nesterov:
            if self._look_ahead.shape != v.shape:
                self._look_ahead = np.empty_like(v)
            np.multiply(v, beta, self._look_ahead)
            np.add(tmp, self._look_ahead, tmp)
            np.multiply(tmp, rate, tmp)
        else:
            np.multiply(v, rate, tmp)
        np.subtract(params, tmp, params)


class RMSProp(_Optimizer):
    """``s = beta2 s + (1 - beta2) g^2;  W -= lr * g / sqrt(s + eps)``."""

    slots = ("s",)

    def __init__(self, config: OptimizerConfig) -> None:
        super().__init__(config)
        self._beta2, self._eps = _scalar(config.beta2), _scalar(config.epsilon)
        self._gain, self._rate = _scalar(), _scalar()

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        c, s, tmp = self.config, state["s"], self._tmp(params.size)
        self._gain[()] = (1 - c.beta2) * grad_scale * grad_scale
        self._rate[()] = learning_rate * grad_scale
        np.multiply(grads, grads, tmp)
        np.multiply(tmp, self._gain, tmp)
        np.multiply(s, self._beta2, s)
        np.add(s, tmp, s)
        _root(s, self._eps, c.epsilon_inside_sqrt, tmp)
        np.divide(grads, tmp, tmp)
        np.multiply(tmp, self._rate, tmp)
        np.subtract(params, tmp, params)


class Adam(_Optimizer):
    """Bias-corrected moments, ``W -= lr * v_c / sqrt(s_c + eps)``; AdamW first decays ``W`` by ``lr wd``.

    With ``c = 1 / (1 - beta2^t)``: ``sqrt(c s + eps) = sqrt(c) sqrt(s + eps / c)`` and
    ``sqrt(c s) + eps = sqrt(c) (sqrt(s) + eps / sqrt(c))``, so the correction of ``s`` joins the
    learning rate as one factor instead of costing a pass over the data.
    """

    slots = ("v", "s")

    def __init__(self, config: OptimizerConfig, decoupled_weight_decay: bool = False) -> None:
        super().__init__(config)
        self.weight_decay = config.weight_decay if decoupled_weight_decay else 0.0
        self._beta1, self._beta2 = _scalar(config.beta1), _scalar(config.beta2)
        self._gain1, self._gain2, self._eps, self._rate, self._decay = (_scalar() for _ in range(5))

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        c, v, s, tmp = self.config, state["v"], state["s"], self._tmp(params.size)
        correction = 1 / (1 - c.beta2**step)
        root = math.sqrt(correction)
        self._gain1[()] = (1 - c.beta1) * grad_scale
        self._gain2[()] = (1 - c.beta2) * grad_scale * grad_scale
        self._eps[()] = c.epsilon / correction if c.epsilon_inside_sqrt else c.epsilon / root
        self._rate[()] = learning_rate / ((1 - c.beta1**step) * root)
        if self.weight_decay:
            self._decay[()] = 1 - learning_rate * self.weight_decay
            np.multiply(params, self._decay, params)
        np.multiply(grads, self._gain1, tmp)
        np.multiply(v, self._beta1, v)
        np.add(v, tmp, v)
        np.multiply(grads, grads, tmp)
        np.multiply(tmp, self._gain2, tmp)
        np.multiply(s, self._beta2, s)
        np.add(s, tmp, s)
        _root(s, self._eps, c.epsilon_inside_sqrt, tmp)
        np.divide(v, tmp, tmp)
        np.multiply(tmp, self._rate, tmp)
        np.subtract(params, tmp, params)


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
