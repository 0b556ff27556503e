"""Forward and backward passes of one mini-batch, written into preallocated buffers.

The course's backward pass, for the sigmoid output with binary cross-entropy and ReLU hidden layers::

    dZ[L] = A[L] - Y
    dZ[l] = (W[l+1].T @ dZ[l+1]) * (Z[l] > 0)                   l = L-1 .. 1
    dW[l] = dZ[l] @ A[l-1].T,   db[l] = sum of dZ[l] over the examples   (the course's, times m)

Activations are kept as in the course, one example per column, with a row of ones under each to carry
the biases; the inputs come one example per row, so that a shuffled mini-batch is a contiguous block of
rows, and the parameters are stored as ``[W[l].T ; b[l].T]`` (``trainer.network``), so that the largest
product, the first layer's gradient, is written row-major without a transpose.
The output layer uses ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, so that
``2 dZ[L] = tanh(Z[L] / 2) + (1 - 2 Y)``. Every gradient is linear in ``dZ[L]``, so multiplying that one
row by ``gain / (2 m)`` writes ``gain`` times the mean gradient: the optimizer's first multiplication
(its private ``_gain``, ``trainer.optimizers``) and the mean's ``1 / m`` cost one small multiplication
instead of passes over the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.network import layer_views

# 0-d arrays: NumPy's ufuncs take them about twice as fast as Python floats.
ZERO = np.zeros(())
HALF = np.full((), 0.5)


class Backprop:
    """Buffers and passes for one net and one mini-batch size ``batch``."""

    def __init__(
        self, sizes: Sequence[int], parameters: np.ndarray, gradient: np.ndarray, batch: int
    ) -> None:
        weights = layer_views(parameters, sizes)  # [W.T ; b.T], (n_prev + 1, n)
        self.first_weights = weights[0]
        self.forward_weights = [w.T for w in weights]  # [W | b], (n, n_prev + 1)
        self.backward_weights = [w[:-1] for w in weights]  # W.T without the biases, (n_prev, n)
        self.gradients = layer_views(gradient, sizes)
        hidden = sizes[1:-1]
        # [A[l] ; 1] for the hidden layers: the last row stays ones.
        self.activations = [np.ones((n + 1, batch)) for n in hidden]
        self.relu_outputs = [a[:-1] for a in self.activations]
        # Z[1] is computed transposed, as [A[0] ; 1].T @ [W.T ; b.T]: two row-major operands, the
        # fastest form of the largest product when there are many features.
        self.pre_activations = [np.empty((batch, hidden[0])).T] + [np.empty((n, batch)) for n in hidden[1:]]
        self.slopes = [np.empty((n, batch)) for n in hidden]
        self.deltas = [np.empty((n, batch)) for n in hidden]
        self.output = np.empty((1, batch))
        self.batch = batch
        self._output_scale = np.zeros(())
        self.first_pre_activation = self.pre_activations[0].T
        self.output_weights = self.forward_weights[-1]
        self.forward_layers = list(
            zip(
                self.forward_weights[1:-1],
                self.pre_activations[1:],
                self.relu_outputs[1:],
                self.activations[1:],
                strict=True,
            )
        )
        # Layers L .. 2: the layer's gradient, the activation below it, W.T without biases, and the
        # buffers for the delta and the ReLU slope of the layer below.
        self.backward_layers = [
            (
                self.gradients[layer],
                self.activations[layer - 1],
                self.backward_weights[layer],
                self.deltas[layer - 1],
                self.relu_outputs[layer - 1],
                self.slopes[layer - 1],
            )
            for layer in range(len(self.gradients) - 1, 0, -1)
        ]

    def gradient(
        self, inputs: np.ndarray, signs: np.ndarray, labels: np.ndarray | None, gain: float = 1.0
    ) -> float:
        """Write ``gain`` times the mini-batch's mean gradient; return its summed cost when ``labels``
        are given.

        ``inputs`` is ``[A[0] ; 1].T`` of shape ``(batch, n_x + 1)``; ``signs`` is ``1 - 2 Y`` and
        ``labels`` is ``Y``, both of shape ``(1, batch)``. The cost is
        ``sum(max(z, 0) - y z + log(1 + exp(-|z|)))``, the binary cross-entropy of the course written on
        the logits ``z = Z[L]`` so that it stays finite where ``A[L]`` rounds to 0 or 1.
        """
        dot, maximum, relu_outputs = np.dot, np.maximum, self.relu_outputs
        dot(inputs, self.first_weights, self.first_pre_activation)
        maximum(self.pre_activations[0], ZERO, out=relu_outputs[0])
        A = self.activations[0]
        for W, Z, relu, A_next in self.forward_layers:
            dot(W, A, Z)
            maximum(Z, ZERO, out=relu)
            A = A_next
        dZ = self.output
        dot(self.output_weights, A, dZ)
        cost = 0.0 if labels is None else summed_cost(dZ, labels)
        np.multiply(dZ, HALF, dZ)
        np.tanh(dZ, dZ)
        np.add(dZ, signs, dZ)
        self._output_scale[()] = gain * 0.5 / self.batch
        np.multiply(dZ, self._output_scale, dZ)
        for gradient, A_prev, W, delta, relu, slope in self.backward_layers:
            dot(A_prev, dZ.T, gradient)
            dot(W, dZ, delta)
            np.sign(relu, slope)  # ReLU'(Z) = 1 where A > 0, else 0
            np.multiply(delta, slope, delta)
            dZ = delta
        dot(inputs.T, dZ.T, self.gradients[0])
        return cost


def summed_cost(logits: np.ndarray, labels: np.ndarray) -> float:
    """Binary cross-entropy summed over examples, from the logits: ``max(z,0) - y z + log1p(exp(-|z|))``."""
    return float(np.sum(np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))))
