"""The optimizers' update rules as pure functions of flat vectors and coefficients, in place.

Each rule takes the gradient already multiplied by its first factor (``scaled``: ``lr g`` for gd and
rmsprop, ``(1 - beta) g`` for momentum and nesterov, ``(1 - beta1) g`` for adam; see
``trainer.optimizers``), the state's vectors, a scratch vector ``tmp`` it overwrites, and its coefficients
as arrays that broadcast against the vectors (0-d for one flat vector; a column, one value per row, for
a 2-D block of rows). Every call is a NumPy ufunc writing into its operands, so a rule allocates nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Coefficient = float | np.ndarray


def gd_rule(params: np.ndarray, scaled: np.ndarray) -> None:
    """``W -= scaled`` with ``scaled = lr g``."""
    np.subtract(params, scaled, params)


def momentum_rule(
    params: np.ndarray,
    scaled: np.ndarray,
    v: np.ndarray,
    tmp: np.ndarray,
    beta: np.ndarray,
    rate: np.ndarray,
    nesterov: bool,
) -> None:
    """``v = beta v + scaled;  W -= rate v`` (Nesterov: ``W -= rate (beta v + scaled)``), with
    ``scaled = (1 - beta) g`` and ``rate = lr``; ``tmp`` is overwritten."""
    np.multiply(v, beta, v)
    np.add(v, scaled, v)
    if nesterov:
        np.multiply(v, beta, tmp)
        np.add(tmp, scaled, tmp)
        np.multiply(tmp, rate, tmp)
    else:
        np.multiply(v, rate, tmp)
    np.subtract(params, tmp, params)


def rmsprop_rule(
    params: np.ndarray,
    scaled: np.ndarray,
    s: np.ndarray,
    tmp: np.ndarray,
    beta2: np.ndarray,
    gain2: np.ndarray,
    eps: np.ndarray,
    inside: bool,
) -> None:
    """``s = beta2 s + gain2 scaled^2;  W -= scaled / root(s, eps)`` with ``scaled = lr g`` and
    ``gain2 = (1 - beta2) / lr^2``; ``tmp`` is overwritten."""
    square_average(s, scaled, beta2, gain2, tmp)
    root(s, eps, inside, tmp)
    np.divide(scaled, tmp, tmp)
    np.subtract(params, tmp, params)


def adam_coefficients(
    beta1: Coefficient,
    beta2: Coefficient,
    epsilon: Coefficient,
    inside: bool,
    step: int,
    learning_rate: Coefficient,
    sqrt: Callable = math.sqrt,
) -> tuple[Coefficient, Coefficient]:
    """Adam's ``(eps', rate)`` at step ``t``: ``W -= rate v / root(s, eps')`` is the bias-corrected step.

    With ``c = 1 / (1 - beta2^t)``: ``sqrt(c s + eps) = sqrt(c) sqrt(s + eps / c)`` and
    ``sqrt(c s) + eps = sqrt(c) (sqrt(s) + eps / sqrt(c))``, so the correction of ``s`` joins the
    learning rate as one factor instead of costing a pass over the data:
    ``eps' = eps / c`` (inside) or ``eps / sqrt(c)`` (outside), ``rate = lr / ((1 - beta1^t) sqrt(c))``.
    Floats, or arrays with ``sqrt=np.sqrt`` (one value per member; both square roots are IEEE's
    correctly rounded one, so a member's coefficients equal its solo run's).
    """
    correction = 1 / (1 - beta2**step)
    square_root = sqrt(correction)
    eps = epsilon / correction if inside else epsilon / square_root
    return eps, learning_rate / ((1 - beta1**step) * square_root)


def adam_rule(
    params: np.ndarray,
    scaled: np.ndarray,
    v: np.ndarray,
    s: np.ndarray,
    tmp: np.ndarray,
    beta1: np.ndarray,
    beta2: np.ndarray,
    gain2: np.ndarray,
    eps: np.ndarray,
    rate: np.ndarray,
    inside: bool,
) -> None:
    """``v = beta1 v + scaled;  s = beta2 s + gain2 scaled^2;  W -= rate v / root(s, eps)`` with
    ``scaled = (1 - beta1) g``, ``gain2 = (1 - beta2) / (1 - beta1)^2`` and ``eps``, ``rate`` from
    ``adam_coefficients``; ``tmp`` is overwritten."""
    np.multiply(v, beta1, v)
    np.add(v, scaled, v)
    square_average(s, scaled, beta2, gain2, tmp)
    root(s, eps, inside, tmp)
    np.divide(v, tmp, tmp)
    np.multiply(tmp, rate, tmp)
    np.subtract(params, tmp, params)


def square_average(
    s: np.ndarray, scaled: np.ndarray, beta2: np.ndarray, gain2: np.ndarray, tmp: np.ndarray
) -> None:
    """``s = beta2 s + gain2 scaled^2`` in place (``tmp`` is overwritten): the squared-gradient average,
    with ``gain2`` the ``1 - beta2`` that also undoes the factor ``scaled`` came multiplied by."""
    np.multiply(scaled, scaled, tmp)
    np.multiply(tmp, gain2, tmp)
    np.multiply(s, beta2, s)
    np.add(s, tmp, s)


def root(s: np.ndarray, eps: np.ndarray, inside: bool, out: np.ndarray) -> None:
    """``sqrt(s + eps)`` when ``inside``, else ``sqrt(s) + eps``, into ``out``."""
    if inside:
        np.add(s, eps, out)
        np.sqrt(out, out)
    else:
        np.sqrt(s, out)
        np.add(out, eps, out)
