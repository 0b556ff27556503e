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

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        tmp = self._tmp(params.size)
        np.multiply(grads, learning_rate * grad_scale, out=tmp)
        params -= tmp


class Momentum(_Optimizer):
    """``v = beta v + (1 - beta) g;  W -= lr * v``; Nesterov: ``W -= lr * (beta v + (1 - beta) g)``."""

    slots = ("v",)

    def __init__(self, config: OptimizerConfig, nesterov: bool = False) -> None:
        super().__init__(config)
        self.nesterov = nesterov

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        beta, v, tmp = self.config.beta, state["v"], self._tmp(params.size)
        np.multiply(grads, (1 - beta) * grad_scale, out=tmp)
        v *= beta
        v += tmp
        if self.nesterov:
            tmp += beta * v
            tmp *= learning_rate
        else:
            np.multiply(v, learning_rate, out=tmp)
        params -= tmp


class RMSProp(_Optimizer):
    """``s = beta2 s + (1 - beta2) g^2;  W -= lr * g / sqrt(s + eps)``."""

    slots = ("s",)

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        c, s, tmp = self.config, state["s"], self._tmp(params.size)
        np.multiply(grads, grads, out=tmp)
        tmp *= (1 - c.beta2) * grad_scale * grad_scale
        s *= c.beta2
        s += tmp
        _scaled_root(s, 1.0, c.epsilon, c.epsilon_inside_sqrt, out=tmp)
        np.divide(grads, tmp, out=tmp)
        tmp *= learning_rate * grad_scale
        params -= tmp


class Adam(_Optimizer):
    """Bias-corrected moments, ``W -= lr * v_c / sqrt(s_c + eps)``; AdamW first decays ``W`` by ``lr wd``."""

    slots = ("v", "s")

    def __init__(self, config: OptimizerConfig, decoupled_weight_decay: bool = False) -> None:
        super().__init__(config)
        self.weight_decay = config.weight_decay if decoupled_weight_decay else 0.0

    def update(self, params, grads, state, step, learning_rate, grad_scale=1.0) -> None:
        c, v, s, tmp = self.config, state["v"], state["s"], self._tmp(params.size)
        if self.weight_decay:
            params *= 1 - learning_rate * self.weight_decay
        np.multiply(grads, (1 - c.beta1) * grad_scale, out=tmp)
        v *= c.beta1
        v += tmp
        np.multiply(grads, grads, out=tmp)
        tmp *= (1 - c.beta2) * grad_scale * grad_scale
        s *= c.beta2
        s += tmp
        k = _scaled_root(s, 1 / (1 - c.beta2**step), c.epsilon, c.epsilon_inside_sqrt, out=tmp)
        np.divide(v, tmp, out=tmp)
        tmp *= learning_rate / ((1 - c.beta1**step) * k)
        params -= tmp


def _scaled_root(s: np.ndarray, correction: float, eps: float, inside: bool, out: np.ndarray) -> float:
    """Write ``r`` into ``out`` and return ``k`` such that ``k r`` is the update's denominator:
    ``sqrt(correction s + eps)`` when ``inside``, else ``sqrt(correction s) + eps``. With
    ``k = sqrt(correction)``, ``r`` is ``sqrt(s + eps / correction)`` or ``sqrt(s) + eps / k``: one pass
    over the data fewer than scaling ``s`` first."""
    k = math.sqrt(correction)
    if inside:
        np.add(s, eps / correction, out=out)
        np.sqrt(out, out=out)
    else:
        np.sqrt(s, out=out)
        out += eps / k
    return k


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
