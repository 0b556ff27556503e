"""Forward and backward passes of one mini-batch for a stack of nets at once, into preallocated buffers.

The stack's parameters and gradients are ``(members, P)`` arrays, one member's flat vector per row in the
trainer's layout (``trainer.network``: per layer ``[W.T ; b.T]``, so ``layer_views`` gives
``(members, n_{l-1} + 1, n_l)`` views). Activations are kept member-major, one example per column, with a
row of ones under each member's block for the biases: ``A[l]`` is ``(members, n_l + 1, batch)``.

- The first layer's input is the same mini-batch for every member, so all members' first layers are
  one product: their ``[W.T ; b.T]`` gathered side by side into ``(n_x + 1, members x n_1)`` (runs of
  ``n_1`` values), and ``Z[1] = [W[1] | b[1]] [A[0] ; 1]`` of every member from one BLAS call; its gradient
  likewise, scattered back in runs of ``n_1``.
- Deeper layers are batched products (``np.matmul`` over the member axis).
- Every elementwise operation is one ufunc call over all members: ``A = max(Z, 0)`` and ``slope = Z > 0``
  (the ReLU and the slope its backward pass needs), and the output's ``dZ[L] = sigmoid(Z[L]) - Y``,
  computed in place as ``s / (1 + exp(-s Z[L]))`` with ``s = 1 - 2Y`` and the scale folded in (``exp``,
  which NumPy computes about 2.6 times faster than the solo pass's ``tanh``).
- A layer's pre-activation and its backward delta share one buffer (the first is dead before the second
  is written), so that the pass's arrays stay closer to fitting in cache.

Every gradient is linear in ``dZ[L]``, so multiplying that row by each member's ``gain / m`` writes each
member's ``gain`` times its mean gradient, as the solo pass does (``trainer.backprop``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.network import layer_views

ZERO = np.zeros(())
ONE = np.ones(())


class StackedBackprop:
    """Buffers and passes for a stack of nets of layer sizes ``sizes`` and one mini-batch size ``batch``;
    ``parameters`` and ``gradient`` are ``(members, P)``."""

    def __init__(
        self, sizes: Sequence[int], parameters: np.ndarray, gradient: np.ndarray, batch: int
    ) -> None:
        members, (n_x, n_1) = parameters.shape[0], sizes[:2]
        weights = layer_views(parameters, sizes)  # [W.T ; b.T] per member: (members, n_prev + 1, n)
        gradients = layer_views(gradient, sizes)
        self.batch = batch
        # Every member's [W[1].T ; b[1].T] side by side, (n_x + 1, members, n_1), and its gradient.
        self.first_gathered = np.empty((n_x + 1, members, n_1))
        self.first_gathered_gradient = np.empty((n_x + 1, members, n_1))
        self.first_weights = weights[0].transpose(1, 0, 2)
        self.first_gradient = gradients[0].transpose(1, 0, 2)
        hidden = sizes[1:-1]
        # [A[l] ; 1] per member for the hidden layers: the last row stays ones.
        activations = [np.ones((members, n + 1, batch)) for n in hidden]
        # A layer's pre-activation Z, then (in the backward pass) its delta.
        pre_activations = [np.empty((members, n, batch)) for n in hidden]
        deltas = pre_activations
        self.slopes = [np.empty((members, n, batch)) for n in hidden]
        self.first_layer = (pre_activations[0], self.slopes[0], activations[0][:, :-1])
        self.first_pre_activation = pre_activations[0].reshape(members * n_1, batch)
        self.first_product = self.first_gathered.reshape(n_x + 1, members * n_1).T  # [W[1] | b[1]] stacked
        self.first_gradient_product = self.first_gathered_gradient.reshape(n_x + 1, members * n_1)
        # Layers 2 .. L-1: [W | b], the activation below, and the layer's buffers.
        self.forward_layers = [
            (weights[h].transpose(0, 2, 1), activations[h - 1], pre_activations[h], self.slopes[h], a[:, :-1])
            for h, a in enumerate(activations)
            if h > 0
        ]
        self.output_weights = weights[-1].transpose(0, 2, 1)  # (members, 1, n_{L-1} + 1)
        self.last_activation = activations[-1]
        self.output = np.empty((members, 1, batch))
        self.negative_scale = np.zeros((members, 1, 1))  # -gain / m per member
        # Layers L .. 2: the layer's gradient, the activation below it, W.T without biases, the buffer for
        # the delta of the layer below and its ReLU slope, and the product that gives the delta: the
        # output layer's, with one unit, is an outer product, which a broadcast multiplication does
        # faster than matmul (about 9 against 14 us for 64 members).
        last = len(gradients) - 1
        self.backward_layers = [
            (
                gradients[k],
                activations[k - 1],
                weights[k][:, :-1],
                deltas[k - 1],
                self.slopes[k - 1],
                np.multiply if k == last else np.matmul,
            )
            for k in range(last, 0, -1)
        ]
        self.first_delta_t = deltas[0].reshape(members * n_1, batch).T

    def set_gains(self, gains: np.ndarray) -> None:
        """Each member's optimizer gain for the epoch (one value per member)."""
        self.negative_scale[:, 0, 0] = -gains / self.batch

    def gradient(
        self, inputs: np.ndarray, flips: np.ndarray, labels: np.ndarray, costs: np.ndarray | None
    ) -> None:
        """Write each member's ``gain`` times its mean gradient over the mini-batch; add each member's
        summed cost to ``costs`` when it is given.

        ``inputs`` is ``[A[0] ; 1].T`` of shape ``(batch, n_x + 1)``, ``flips`` is ``2 Y - 1`` and
        ``labels`` is ``Y``, both of shape ``(1, batch)`` (``labels`` is read only with ``costs``, one
        value per member). The cost is the solo pass's ``sum(max(z, 0) - y z + log(1 + exp(-|z|)))`` on
        the logits ``z = Z[L]``.
        """
        matmul, multiply, greater, maximum = np.matmul, np.multiply, np.greater, np.maximum
        np.copyto(self.first_gathered, self.first_weights)
        np.dot(self.first_product, inputs.T, self.first_pre_activation)
        Z, slope, A = self.first_layer
        maximum(Z, ZERO, out=A)  # ReLU
        greater(Z, ZERO, slope)  # its slope, for the backward pass
        for W, A_prev, Z, slope, A in self.forward_layers:
            matmul(W, A_prev, out=Z)
            maximum(Z, ZERO, out=A)
            greater(Z, ZERO, slope)
        dZ = self.output
        matmul(self.output_weights, self.last_activation, out=dZ)
        if costs is not None:
            costs += summed_costs(dZ, labels)
        # sigmoid(z) - y = s / (1 + exp(-s z)) with s = 1 - 2y = -flips: no cancellation where the
        # sigmoid rounds to 1, and one call fewer than the difference.
        multiply(dZ, flips, dZ)
        np.exp(dZ, dZ)
        np.add(dZ, ONE, dZ)
        np.divide(self.negative_scale, dZ, dZ)
        multiply(dZ, flips, dZ)
        for gradient, A_prev, W, delta, slope, product in self.backward_layers:
            matmul(A_prev, dZ.transpose(0, 2, 1), out=gradient)
            product(W, dZ, out=delta)
            multiply(delta, slope, delta)
            dZ = delta
        np.dot(inputs.T, self.first_delta_t, self.first_gradient_product)
        np.copyto(self.first_gradient, self.first_gathered_gradient)


def summed_costs(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each member's binary cross-entropy summed over the examples, from its logits ``(members, 1, batch)``:
    ``max(z,0) - y z + log1p(exp(-|z|))``."""
    terms = np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))
    return terms.sum(axis=(1, 2))
