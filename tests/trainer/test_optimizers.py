"""Each optimizer's single update against its formula recomputed by hand.

The pattern of scikit-learn's ``sklearn/neural_network/tests/test_stochastic_optimizers.py``: random
parameters, gradients and state for several sizes and step counts, the expected result written out with
the contract's formula, then one ``update`` with the plain mean gradient ``g`` and a comparison. The
tolerance is a few ulps (rtol 1e-12), tight enough that any formula slip (a missing ``1 - beta``, epsilon
on the wrong side of the square root, the wrong ``t`` in the bias correction) fails, loose enough to let
the optimizers fold constants such as ``1 / (1 - beta1**t)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from trainer.config import OPTIMIZER_NAMES, OptimizerConfig
from trainer.optimizers import CHUNK, make_optimizer

SIZES = (1, 5, 64, 1001, 2 * CHUNK + 7)  # the last is updated in three blocks
STEPS = (1, 2, 10, 1000)
RTOL = 1e-12
ATOL = 1e-15

STATE_KEYS = {
    "gd": set(),
    "momentum": {"v"},
    "nesterov": {"v"},
    "rmsprop": {"s"},
    "adam": {"v", "s"},
    "adamw": {"v", "s"},
}


def close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def arrays(size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parameters, gradients, a velocity and a (non-negative) squared-gradient average."""
    rng = np.random.default_rng(seed)
    params = rng.normal(size=size)
    grads = rng.normal(scale=0.1, size=size)
    v = rng.normal(scale=0.05, size=size)
    s = rng.random(size) * 0.01
    return params, grads, v, s


def adam_expected(params, grads, v, s, t, lr, opt: OptimizerConfig):
    """The seed's Adam, written out: returns (params, v, s) after one step."""
    v = opt.beta1 * v + (1 - opt.beta1) * grads
    s = opt.beta2 * s + (1 - opt.beta2) * grads**2
    v_corrected = v / (1 - opt.beta1**t)
    s_corrected = s / (1 - opt.beta2**t)
    if opt.epsilon_inside_sqrt:
        params = params - lr * v_corrected / np.sqrt(s_corrected + opt.epsilon)
    else:
        params = params - lr * v_corrected / (np.sqrt(s_corrected) + opt.epsilon)
    return params, v, s


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_init_gives_zeroed_state(name: str, size: int) -> None:
    state = make_optimizer(OptimizerConfig(name=name)).init(size)
    assert set(state) == STATE_KEYS[name]
    for vector in state.values():
        assert vector.shape == (size,)
        assert vector.dtype == np.float64
        assert not vector.any()


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_update_leaves_the_gradient_alone(name: str) -> None:
    optimizer = make_optimizer(OptimizerConfig(name=name))
    params, grads, _, _ = arrays(1001, seed=9)
    given = grads.copy()
    optimizer.update(params, grads, optimizer.init(1001), 1, 0.01)
    assert np.array_equal(grads, given)
    assert not np.array_equal(params, arrays(1001, seed=9)[0])


@pytest.mark.parametrize("size", SIZES)
def test_gd(size: int) -> None:
    optimizer = make_optimizer(OptimizerConfig(name="gd"))
    for lr in (0.0007, 0.1, 1.0):
        params, grads, _, _ = arrays(size, seed=size)
        expected = params - lr * grads
        state = optimizer.init(size)
        assert optimizer.update(params, grads, state, 1, lr) is None
        close(params, expected)
        assert state == {}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["momentum", "nesterov"])
def test_momentum_and_nesterov_from_a_given_velocity(name: str, size: int) -> None:
    for beta in (0.0, 0.5, 0.9, 0.99):
        opt = OptimizerConfig(name=name, beta=beta)
        optimizer = make_optimizer(opt)
        lr = 0.05
        params, grads, v0, _ = arrays(size, seed=size + 1)
        state = optimizer.init(size)
        state["v"][:] = v0
        v = beta * v0 + (1 - beta) * grads
        step = v if name == "momentum" else beta * v + (1 - beta) * grads
        expected = params - lr * step
        optimizer.update(params, grads, state, 7, lr)
        close(state["v"], v)
        close(params, expected)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["momentum", "nesterov"])
def test_momentum_two_steps_from_zero(name: str, size: int) -> None:
    beta, lr = 0.8, 0.01
    optimizer = make_optimizer(OptimizerConfig(name=name, beta=beta))
    params, grads1, _, _ = arrays(size, seed=size + 2)
    grads2 = np.random.default_rng(size).normal(size=size)
    state = optimizer.init(size)

    v1 = (1 - beta) * grads1  # the velocity starts at zeros
    p1 = params - lr * (v1 if name == "momentum" else beta * v1 + (1 - beta) * grads1)
    v2 = beta * v1 + (1 - beta) * grads2
    p2 = p1 - lr * (v2 if name == "momentum" else beta * v2 + (1 - beta) * grads2)

    optimizer.update(params, grads1, state, 1, lr)
    close(state["v"], v1)
    close(params, p1)
    optimizer.update(params, grads2, state, 2, lr)
    close(state["v"], v2)
    close(params, p2)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("inside", [True, False])
def test_rmsprop(size: int, inside: bool) -> None:
    for beta2, epsilon in ((0.999, 1e-8), (0.9, 1e-4), (0.5, 1e-2)):
        opt = OptimizerConfig(name="rmsprop", beta2=beta2, epsilon=epsilon, epsilon_inside_sqrt=inside)
        optimizer = make_optimizer(opt)
        lr = 0.003
        params, grads, _, s0 = arrays(size, seed=size + 3)
        state = optimizer.init(size)
        state["s"][:] = s0
        s = beta2 * s0 + (1 - beta2) * grads**2
        denominator = np.sqrt(s + epsilon) if inside else np.sqrt(s) + epsilon
        expected = params - lr * grads / denominator
        optimizer.update(params, grads, state, 3, lr)
        close(state["s"], s)
        close(params, expected)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("t", STEPS)
@pytest.mark.parametrize("inside", [True, False])
def test_adam_at_step_t(size: int, t: int, inside: bool) -> None:
    for beta1, beta2, epsilon in ((0.9, 0.999, 1e-8), (0.8, 0.99, 1e-4), (0.5, 0.9, 1e-2)):
        opt = OptimizerConfig(
            name="adam", beta1=beta1, beta2=beta2, epsilon=epsilon, epsilon_inside_sqrt=inside
        )
        optimizer = make_optimizer(opt)
        lr = 0.002
        params, grads, v0, s0 = arrays(size, seed=size + t)
        expected, v, s = adam_expected(params, grads, v0, s0, t, lr, opt)
        state = optimizer.init(size)
        state["v"][:] = v0
        state["s"][:] = s0
        optimizer.update(params, grads, state, t, lr)
        close(state["v"], v)
        close(state["s"], s)
        close(params, expected)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_two_steps_from_zero(name: str, size: int) -> None:
    opt = OptimizerConfig(name=name, beta1=0.85, beta2=0.995, epsilon=1e-7, weight_decay=0.02)
    optimizer = make_optimizer(opt)
    lr = 0.01
    params, grads1, _, _ = arrays(size, seed=size + 4)
    grads2 = np.random.default_rng(size + 5).normal(size=size)
    decay = opt.weight_decay if name == "adamw" else 0.0
    zeros = np.zeros(size)

    p1, v1, s1 = adam_expected(params - lr * decay * params, grads1, zeros, zeros, 1, lr, opt)
    p2, v2, s2 = adam_expected(p1 - lr * decay * p1, grads2, v1, s1, 2, lr, opt)

    state = optimizer.init(size)
    optimizer.update(params, grads1, state, 1, lr)
    close(state["v"], v1)
    close(state["s"], s1)
    close(params, p1)
    optimizer.update(params, grads2, state, 2, lr)
    close(state["v"], v2)
    close(state["s"], s2)
    close(params, p2)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("t", STEPS)
@pytest.mark.parametrize("inside", [True, False])
def test_adamw_decays_before_the_adam_step(size: int, t: int, inside: bool) -> None:
    for weight_decay in (0.0, 0.01, 0.3):
        opt = OptimizerConfig(
            name="adamw",
            beta1=0.8,
            beta2=0.99,
            epsilon=1e-6,
            epsilon_inside_sqrt=inside,
            weight_decay=weight_decay,
        )
        optimizer = make_optimizer(opt)
        lr = 0.05
        params, grads, v0, s0 = arrays(size, seed=size + t + 6)
        decayed = params - lr * weight_decay * params
        expected, v, s = adam_expected(decayed, grads, v0, s0, t, lr, opt)
        state = optimizer.init(size)
        state["v"][:] = v0
        state["s"][:] = s0
        optimizer.update(params, grads, state, t, lr)
        close(state["v"], v)
        close(state["s"], s)
        close(params, expected)


def test_epsilon_side_matters() -> None:
    """The two epsilon conventions give different steps, so the tests above tell them apart."""
    size, lr = 64, 0.01
    results = []
    for inside in (True, False):
        optimizer = make_optimizer(OptimizerConfig(name="adam", epsilon=1e-4, epsilon_inside_sqrt=inside))
        params, grads, _, _ = arrays(size, seed=0)
        optimizer.update(params, grads, optimizer.init(size), 1, lr)
        results.append(params)
    assert np.max(np.abs(results[0] - results[1])) > 1e3 * ATOL + RTOL * np.max(np.abs(results[1]))
