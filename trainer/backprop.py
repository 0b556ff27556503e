"""Forward and backward passes of one mini-batch, written into preallocated buffers.

The course's backward pass, for the sigmoid output with binary cross-entropy and ReLU hidden layers::

    dZ[L] = A[L] - Y
    dZ[l] = (W[l+1].T @ dZ[l+1]) * (Z[l] > 0)                   l = L-1 .. 1
    [dW[l] | db[l]] = dZ[l] @ [A[l-1]; 1].T                      (the course's dW and db, times m)

The output layer uses ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, so ``2 dZ[L] = tanh(Z[L] / 2) + (1 - 2 Y)``.
The gradient is written *unscaled*: twice the sum over the mini-batch, not the mean. The optimizer folds
the ``1 / (2 m)`` into its own first multiplication (``grad_scale``), which saves passes over the data.
Inputs come transposed, examples as rows with a trailing column of ones, so that a shuffled mini-batch is
a contiguous block of rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.network import layer_views


class Backprop:
    """Buffers and passes for one net and one mini-batch size ``batch``."""

    def __init__(
        self, sizes: Sequence[int], parameters: np.ndarray, gradient: np.ndarray, batch: int
    ) -> None:
        self.weights = layer_views(parameters, sizes)
        self.gradients = layer_views(gradient, sizes)
        self.weights_t = [w[:, :-1].T for w in self.weights]  # W[l].T without the bias column
        hidden = sizes[1:-1]
        # [A[l]; 1] for the hidden layers: the last row stays ones.
        self.activations = [np.ones((n + 1, batch)) for n in hidden]
        self.pre_activations = [np.empty((n, batch)) for n in hidden]
        self.masks = [np.empty((n, batch), dtype=bool) for n in hidden]
        self.deltas = [np.empty((n, batch)) for n in hidden]
        self.output = np.empty((1, batch))

    def gradient(self, inputs_t: np.ndarray, signs: np.ndarray, labels: np.ndarray | None) -> float:
        """Write ``2 m`` times the mini-batch's gradient; return its summed cost when ``labels`` are given.

        ``inputs_t`` is ``[A[0]; 1].T`` of shape ``(batch, n_x + 1)``, ``signs`` is ``1 - 2 Y`` of shape
        ``(batch,)``. The cost is ``sum(max(z, 0) - y z + log(1 + exp(-|z|)))``, the binary cross-entropy
        of the course written on the logits ``z = Z[L]`` so that it stays finite where ``A[L]`` rounds to 0
        or 1.
        """
        dot, A = np.dot, inputs_t.T
        for W, Z, A_next in zip(self.weights, self.pre_activations, self.activations, strict=False):
            dot(W, A, out=Z)
            np.maximum(Z, 0, out=A_next[:-1])
            A = A_next
        dZ = self.output
        dot(self.weights[-1], A, out=dZ)
        cost = 0.0 if labels is None else summed_cost(dZ, labels)
        np.multiply(dZ, 0.5, out=dZ)
        np.tanh(dZ, out=dZ)
        np.add(dZ, signs, out=dZ)
        for layer in range(len(self.weights) - 1, 0, -1):
            dot(dZ, self.activations[layer - 1].T, out=self.gradients[layer])
            delta, mask = self.deltas[layer - 1], self.masks[layer - 1]
            dot(self.weights_t[layer], dZ, out=delta)
            np.greater(self.pre_activations[layer - 1], 0, out=mask)
            np.multiply(delta, mask, out=delta)
            dZ = delta
        dot(dZ, inputs_t, out=self.gradients[0])
        return cost


def summed_cost(logits: np.ndarray, labels: np.ndarray) -> float:
    """Binary cross-entropy summed over examples, from the logits: ``max(z,0) - y z + log1p(exp(-|z|))``."""
    return float(np.sum(np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))))
