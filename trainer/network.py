"""The course's fully connected net: LINEAR->RELU x (L-1), then LINEAR->SIGMOID, binary cross-entropy.

Parameters are exported with the course's names and shapes: ``W[l]`` of shape ``(n_l, n_{l-1})`` and
``b[l]`` of shape ``(n_l, 1)`` for l = 1..L. Inside the trainer they live in one flat vector, layer after
layer, each layer stored row-major as the augmented matrix ``[W[l].T ; b[l].T]`` of shape
``(n_{l-1} + 1, n_l)``. The trainer keeps examples as rows; with a column of ones beside every activation,
``Z[l].T = [A[l-1].T | 1] @ [W[l].T ; b[l].T]`` is one matrix product and the layer's whole gradient
``[dW[l].T ; db[l].T] = [A[l-1].T | 1].T @ dZ[l].T`` is another, so a step is a few BLAS calls per layer and
an optimizer update is a few vector operations whatever the depth.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def layer_sizes(n_features: int, hidden: Sequence[int]) -> tuple[int, ...]:
    """``(n_x, *hidden, 1)``: the sizes of every layer, input and sigmoid output included."""
    return (int(n_features), *(int(n) for n in hidden), 1)


def parameter_count(sizes: Sequence[int]) -> int:
    """Number of weights and biases: sum over layers of ``n_l * (n_{l-1} + 1)``."""
    return sum(n * (n_prev + 1) for n_prev, n in itertools.pairwise(sizes))


def initialize_parameters(sizes: Sequence[int], init_seed: int) -> dict[str, np.ndarray]:
    """He initialisation exactly as the course: ``np.random.seed(init_seed)``, then for l = 1..L
    ``W[l] = randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1})`` and ``b[l] = zeros((n_l, 1))``.

    A private ``RandomState`` gives the same draws as the global one without touching it.
    """
    rng = np.random.RandomState(init_seed)
    parameters: dict[str, np.ndarray] = {}
    for layer in range(1, len(sizes)):
        n_prev, n = sizes[layer - 1], sizes[layer]
        parameters[f"W{layer}"] = rng.randn(n, n_prev) * np.sqrt(2 / n_prev)
        parameters[f"b{layer}"] = np.zeros((n, 1))
    return parameters


def layer_views(flat: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """The augmented matrices ``[W[l].T ; b[l].T]`` as views into the flat vector, l = 1..L.

    ``flat`` may have leading axes (the stacked trainer's ``(members, parameters)`` rows): the views then
    have them too, ``(members, n_{l-1} + 1, n_l)``."""
    views, offset = [], 0
    lead = flat.shape[:-1]
    for n_prev, n in itertools.pairwise(sizes):
        size = n * (n_prev + 1)
        views.append(flat[..., offset : offset + size].reshape(*lead, n_prev + 1, n))
        offset += size
    return views


def pack(parameters: dict[str, np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """The course's ``W1, b1 ... WL, bL`` dict as one flat vector in the trainer's layout."""
    flat = np.empty(parameter_count(sizes))
    for layer, view in enumerate(layer_views(flat, sizes), start=1):
        view[:-1] = parameters[f"W{layer}"].T
        view[-1] = parameters[f"b{layer}"][:, 0]
    return flat


def unpack(flat: np.ndarray, sizes: Sequence[int]) -> dict[str, np.ndarray]:
    """The flat vector as fresh ``W1, b1 ... WL, bL`` arrays with the course's shapes."""
    parameters: dict[str, np.ndarray] = {}
    for layer, view in enumerate(layer_views(flat, sizes), start=1):
        parameters[f"W{layer}"] = view[:-1].T.copy()
        parameters[f"b{layer}"] = view[-1:].T.copy()
    return parameters


def predict_proba(parameters: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Forward pass: the sigmoid output ``A[L]``, shape ``(1, m)``, for inputs ``X`` of shape ``(n_x, m)``."""
    depth = len(parameters) // 2
    A = np.asarray(X, dtype=np.float64)
    for layer in range(1, depth + 1):
        Z = parameters[f"W{layer}"] @ A + parameters[f"b{layer}"]
        A = np.maximum(Z, 0) if layer < depth else sigmoid(Z)
    return A


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-Z))``, without overflow warnings for very negative Z."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-Z))


def predict(parameters: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Labels 0/1 of shape ``(1, m)``: 1 where the sigmoid output is above 0.5."""
    return (predict_proba(parameters, X) > 0.5).astype(np.int64)


def accuracy(parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """Share of examples whose predicted label equals ``Y``."""
    return float(np.mean(predict(parameters, X) == np.asarray(Y).reshape(1, -1)))
