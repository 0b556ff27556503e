"""A straightforward implementation of the course's code, kept as the yardstick for the trainer.

This is the seed's notebook (``../shared/seed/optimization_methods.md``) generalised to L layers and
written the way the course writes it: parameters in a dict ``"W1", "b1", … "WL", "bL"``, gradients in
``"dW1", "db1", …``, per-layer Python loops, a fresh array for every operation. It is deliberately not
clever, so that it can be checked line by line against the course text; the equivalence tests compare
the trainer with it and ``bench/trainer_speed.py`` uses it as the speed baseline.

Conventions (the shared contract):

- init       ``np.random.seed(init_seed)``; for l = 1..L ``W[l] = randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1})``,
             ``b[l] = zeros((n_l, 1))`` (He)
- net        LINEAR->RELU × (L-1), LINEAR->SIGMOID
- cost       binary cross-entropy summed over each mini-batch in its forward pass (before its update),
             divided by m at the epoch's end (the newer notebook's ``cost_avg``)
- batches    ``random_mini_batches(X, Y, size, seed)`` exactly as the seed; ``seed`` starts at
             ``config.seed`` and is incremented by one before each epoch; size None means m
- gd         W -= lr*g
- momentum   v = beta*v + (1-beta)*g ; W -= lr*v
- nesterov   v = beta*v + (1-beta)*g ; W -= lr*(beta*v + (1-beta)*g)
- rmsprop    s = beta2*s + (1-beta2)*g^2 ; W -= lr*g/sqrt(s+eps)   (or /(sqrt(s)+eps))
- adam       v = beta1*v + (1-beta1)*g ; s = beta2*s + (1-beta2)*g^2 ; vc = v/(1-beta1^t) ;
             sc = s/(1-beta2^t) ; W -= lr*vc/sqrt(sc+eps)   (or /(sqrt(sc)+eps)); t counts steps from 1
- adamw      W -= lr*weight_decay*W on every parameter (decoupled, as torch.optim.AdamW), then the adam step
- decay      the rate is updated after epoch index i (0-based) with epoch_num = i, so epochs 1 and 2 use
             lr0 and epoch k >= 2 uses decay(lr0, k-2)
- costs      (epoch, cost) at epochs 1, 1+record_every, 1+2*record_every, … and always the last one
"""

from __future__ import annotations

import math

import numpy as np

from trainer.config import DecayConfig, OptimizerConfig, TrainConfig


def initialize_parameters(layers_dims: list[int], init_seed: int) -> dict[str, np.ndarray]:
    """He initialisation: ``W[l] = randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1})``, zero biases."""
    np.random.seed(init_seed)
    parameters = {}
    L = len(layers_dims)
    for layer in range(1, L):
        parameters["W" + str(layer)] = np.random.randn(layers_dims[layer], layers_dims[layer - 1]) * np.sqrt(
            2 / layers_dims[layer - 1]
        )
        parameters["b" + str(layer)] = np.zeros((layers_dims[layer], 1))
    return parameters


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``."""
    s = 1 / (1 + np.exp(-x))
    return s


def relu(x: np.ndarray) -> np.ndarray:
    """``max(0, x)``."""
    s = np.maximum(0, x)
    return s


def forward_propagation(X: np.ndarray, parameters: dict) -> tuple[np.ndarray, list]:
    """LINEAR->RELU × (L-1), LINEAR->SIGMOID; returns the output and the per-layer activations."""
    L = len(parameters) // 2
    caches = [X]
    A = X
    for layer in range(1, L):
        Z = np.dot(parameters["W" + str(layer)], A) + parameters["b" + str(layer)]
        A = relu(Z)
        caches.append(A)
    ZL = np.dot(parameters["W" + str(L)], A) + parameters["b" + str(L)]
    AL = sigmoid(ZL)
    return AL, caches


def compute_cost(a3: np.ndarray, Y: np.ndarray) -> float:
    """Binary cross-entropy summed (not averaged) over the mini-batch, as the newer notebook."""
    logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    cost_total = np.sum(logprobs)
    return cost_total


def backward_propagation(AL: np.ndarray, Y: np.ndarray, caches: list, parameters: dict) -> dict:
    """Gradients of the mean cross-entropy over the mini-batch: ``dZL = (AL - Y) / m`` and back."""
    L = len(parameters) // 2
    m = Y.shape[1]
    grads = {}
    dZ = 1.0 / m * (AL - Y)
    for layer in range(L, 0, -1):
        A_prev = caches[layer - 1]
        grads["dW" + str(layer)] = np.dot(dZ, A_prev.T)
        grads["db" + str(layer)] = np.sum(dZ, axis=1, keepdims=True)
        if layer > 1:
            dA_prev = np.dot(parameters["W" + str(layer)].T, dZ)
            dZ = np.multiply(dA_prev, np.int64(A_prev > 0))
    return grads


def random_mini_batches(X: np.ndarray, Y: np.ndarray, mini_batch_size: int = 64, seed: int = 0) -> list:
    """The seed's shuffle and partition: full slices of ``mini_batch_size``, then the smaller rest."""
    np.random.seed(seed)
    m = X.shape[1]
    mini_batches = []

    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))

    num_complete_minibatches = math.floor(m / mini_batch_size)
    for k in range(0, num_complete_minibatches):
        mini_batch_X = shuffled_X[:, k * mini_batch_size : (k + 1) * mini_batch_size]
        mini_batch_Y = shuffled_Y[:, k * mini_batch_size : (k + 1) * mini_batch_size]
        mini_batches.append((mini_batch_X, mini_batch_Y))

    if m % mini_batch_size != 0:
        mini_batch_X = shuffled_X[:, num_complete_minibatches * mini_batch_size :]
        mini_batch_Y = shuffled_Y[:, num_complete_minibatches * mini_batch_size :]
        mini_batches.append((mini_batch_X, mini_batch_Y))

    return mini_batches


def initialize_state(parameters: dict) -> tuple[dict, dict]:
    """Zero velocity ``v`` and squared-gradient average ``s``, one array per ``dW``/``db``."""
    L = len(parameters) // 2
    v = {}
    s = {}
    for layer in range(L):
        v["dW" + str(layer + 1)] = np.zeros(parameters["W" + str(layer + 1)].shape)
        v["db" + str(layer + 1)] = np.zeros(parameters["b" + str(layer + 1)].shape)
        s["dW" + str(layer + 1)] = np.zeros(parameters["W" + str(layer + 1)].shape)
        s["db" + str(layer + 1)] = np.zeros(parameters["b" + str(layer + 1)].shape)
    return v, s


def update_parameters_with_gd(parameters: dict, grads: dict, learning_rate: float) -> dict:
    """``W -= lr * dW`` for every layer."""
    L = len(parameters) // 2
    for layer in range(L):
        for p in ("W", "b"):
            key = p + str(layer + 1)
            parameters[key] = parameters[key] - learning_rate * grads["d" + key]
    return parameters


def update_parameters_with_momentum(
    parameters: dict, grads: dict, v: dict, beta: float, learning_rate: float
) -> tuple[dict, dict]:
    """``v = beta*v + (1-beta)*dW ; W -= lr*v``."""
    L = len(parameters) // 2
    for layer in range(L):
        for p in ("W", "b"):
            key = p + str(layer + 1)
            v["d" + key] = beta * v["d" + key] + (1 - beta) * grads["d" + key]
            parameters[key] = parameters[key] - learning_rate * v["d" + key]
    return parameters, v


def update_parameters_with_nesterov(
    parameters: dict, grads: dict, v: dict, beta: float, learning_rate: float
) -> tuple[dict, dict]:
    """``v = beta*v + (1-beta)*dW ; W -= lr*(beta*v + (1-beta)*dW)``."""
    L = len(parameters) // 2
    for layer in range(L):
        for p in ("W", "b"):
            key = p + str(layer + 1)
            v["d" + key] = beta * v["d" + key] + (1 - beta) * grads["d" + key]
            parameters[key] = parameters[key] - learning_rate * (
                beta * v["d" + key] + (1 - beta) * grads["d" + key]
            )
    return parameters, v


def update_parameters_with_rmsprop(
    parameters: dict,
    grads: dict,
    s: dict,
    beta2: float,
    learning_rate: float,
    epsilon: float,
    epsilon_inside_sqrt: bool,
) -> tuple[dict, dict]:
    """``s = beta2*s + (1-beta2)*dW^2 ; W -= lr*dW/sqrt(s+eps)`` (or ``/(sqrt(s)+eps)``)."""
    L = len(parameters) // 2
    for layer in range(L):
        for p in ("W", "b"):
            key = p + str(layer + 1)
            s["d" + key] = beta2 * s["d" + key] + (1 - beta2) * np.power(grads["d" + key], 2)
            if epsilon_inside_sqrt:
                denominator = np.sqrt(s["d" + key] + epsilon)
            else:
                denominator = np.sqrt(s["d" + key]) + epsilon
            parameters[key] = parameters[key] - learning_rate * grads["d" + key] / denominator
    return parameters, s


def update_parameters_with_adam(
    parameters: dict,
    grads: dict,
    v: dict,
    s: dict,
    t: int,
    learning_rate: float,
    beta1: float,
    beta2: float,
    epsilon: float,
    epsilon_inside_sqrt: bool,
) -> tuple[dict, dict, dict]:
    """The seed's Adam step, bias-corrected with ``t`` (from 1); epsilon inside or outside the sqrt."""
    L = len(parameters) // 2
    v_corrected = {}
    s_corrected = {}
    for layer in range(L):
        for p in ("W", "b"):
            key = "d" + p + str(layer + 1)
            v[key] = beta1 * v[key] + (1 - beta1) * grads[key]
            v_corrected[key] = v[key] / (1 - np.power(beta1, t))
            s[key] = beta2 * s[key] + (1 - beta2) * np.power(grads[key], 2)
            s_corrected[key] = s[key] / (1 - np.power(beta2, t))
            if epsilon_inside_sqrt:
                denominator = np.sqrt(s_corrected[key] + epsilon)
            else:
                denominator = np.sqrt(s_corrected[key]) + epsilon
            parameters[p + str(layer + 1)] = (
                parameters[p + str(layer + 1)] - learning_rate * v_corrected[key] / denominator
            )
    return parameters, v, s


def update_parameters_with_adamw(
    parameters: dict,
    grads: dict,
    v: dict,
    s: dict,
    t: int,
    learning_rate: float,
    beta1: float,
    beta2: float,
    epsilon: float,
    epsilon_inside_sqrt: bool,
    weight_decay: float,
) -> tuple[dict, dict, dict]:
    """Decoupled weight decay ``W -= lr*weight_decay*W`` on every parameter, then the Adam step."""
    for key in parameters:
        parameters[key] = parameters[key] - learning_rate * weight_decay * parameters[key]
    return update_parameters_with_adam(
        parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon, epsilon_inside_sqrt
    )


def update_lr(learning_rate0: float, epoch_num: int, decay_rate: float) -> float:
    """Inverse-time decay of the newer notebook: ``lr0 / (1 + decay_rate * epoch_num)``."""
    learning_rate = 1 / (1 + decay_rate * epoch_num) * learning_rate0
    return learning_rate


def schedule_lr_decay(
    learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int = 1000
) -> float:
    """Fixed-interval decay: ``lr0 / (1 + decay_rate * floor(epoch_num / time_interval))``."""
    learning_rate = 1 / (1 + decay_rate * np.floor(epoch_num / time_interval)) * learning_rate0
    return learning_rate


def decayed_learning_rate(learning_rate0: float, decay: DecayConfig, epoch_num: int) -> float:
    """The notebook's decay call after epoch index ``epoch_num`` (0-based)."""
    if decay.name == "inverse_time":
        return update_lr(learning_rate0, epoch_num, decay.decay_rate)
    if decay.name == "fixed_interval":
        return schedule_lr_decay(learning_rate0, epoch_num, decay.decay_rate, decay.time_interval)
    return learning_rate0


def update_parameters(
    parameters: dict, grads: dict, v: dict, s: dict, t: int, learning_rate: float, opt: OptimizerConfig
) -> dict:
    """One step of the configured optimizer (``v`` and ``s`` are updated in the dicts given)."""
    if opt.name == "gd":
        return update_parameters_with_gd(parameters, grads, learning_rate)
    if opt.name == "momentum":
        return update_parameters_with_momentum(parameters, grads, v, opt.beta, learning_rate)[0]
    if opt.name == "nesterov":
        return update_parameters_with_nesterov(parameters, grads, v, opt.beta, learning_rate)[0]
    if opt.name == "rmsprop":
        return update_parameters_with_rmsprop(
            parameters, grads, s, opt.beta2, learning_rate, opt.epsilon, opt.epsilon_inside_sqrt
        )[0]
    if opt.name == "adam":
        return update_parameters_with_adam(
            parameters,
            grads,
            v,
            s,
            t,
            learning_rate,
            opt.beta1,
            opt.beta2,
            opt.epsilon,
            opt.epsilon_inside_sqrt,
        )[0]
    if opt.name == "adamw":
        return update_parameters_with_adamw(
            parameters,
            grads,
            v,
            s,
            t,
            learning_rate,
            opt.beta1,
            opt.beta2,
            opt.epsilon,
            opt.epsilon_inside_sqrt,
            opt.weight_decay,
        )[0]
    raise ValueError(f"unknown optimizer {opt.name!r}")


def model(X: np.ndarray, Y: np.ndarray, config: TrainConfig) -> tuple[dict, list[tuple[int, float]]]:
    """The notebook's training loop for ``config``; returns the parameters and ``(epoch, cost)`` points.

    The whole of ``X``/``Y`` is trained on (``config.validation_fraction`` is the caller's business).
    """
    layers_dims = [X.shape[0], *config.layers, 1]
    m = X.shape[1]
    mini_batch_size = m if config.mini_batch_size is None else config.mini_batch_size
    opt = config.optimizer
    learning_rate0 = opt.learning_rate
    learning_rate = learning_rate0
    seed = config.seed
    t = 0
    costs = []

    parameters = initialize_parameters(layers_dims, config.init_seed)
    v, s = initialize_state(parameters)

    for i in range(config.epochs):
        seed = seed + 1
        minibatches = random_mini_batches(X, Y, mini_batch_size, seed)
        cost_total = 0

        for minibatch in minibatches:
            (minibatch_X, minibatch_Y) = minibatch
            a3, caches = forward_propagation(minibatch_X, parameters)
            cost_total += compute_cost(a3, minibatch_Y)
            grads = backward_propagation(a3, minibatch_Y, caches, parameters)
            t = t + 1
            parameters = update_parameters(parameters, grads, v, s, t, learning_rate, opt)

        cost_avg = cost_total / m
        if i % config.record_every == 0 or i == config.epochs - 1:
            costs.append((i + 1, float(cost_avg)))
        learning_rate = decayed_learning_rate(learning_rate0, config.decay, i)

    return parameters, costs


def predict(X: np.ndarray, parameters: dict) -> np.ndarray:
    """0/1 predictions: sigmoid output > 0.5."""
    a3, _ = forward_propagation(X, parameters)
    p = (a3 > 0.5).astype(int)
    return p


def accuracy(X: np.ndarray, Y: np.ndarray, parameters: dict) -> float:
    """Share of examples predicted right."""
    p = predict(X, parameters)
    return float(np.mean(p[0, :] == Y[0, :]))
