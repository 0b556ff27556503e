"""The trainer agrees with the course-style reference (``reference.py``) to 1e-10.

Every parameter ``W1, b1 … WL, bL`` and every cost point (same epochs, costs within 1e-10) are compared
across depths 1-4, mini-batch sizes 1, 37, 64 and m, every optimizer with non-default hyperparameters
(epsilon on either side of the square root) and both learning-rate decay schedules. Each case is a few
hundred to a few thousand steps on small moons, so the file runs in seconds; the full 10000-epoch seed
job is marked ``seed``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.trainer import reference
from trainer.config import DecayConfig, OptimizerConfig, TrainConfig
from trainer.data import make_circles, make_moons, split_validation
from trainer.train import Training, train

TOLERANCE = 1e-10

DEPTHS = ((4,), (5, 2), (6, 4, 3), (8, 5, 4, 3))

# mini-batch size -> (examples, epochs): a few hundred to a few thousand steps each.
BATCHING = {1: (100, 20), 37: (300, 100), 64: (300, 150), None: (200, 200)}

DECAYS = (
    DecayConfig(),
    DecayConfig(name="inverse_time", decay_rate=0.05),
    DecayConfig(name="fixed_interval", decay_rate=0.5, time_interval=15),
)

# Non-default hyperparameters for each optimizer; the epsilon side alternates through the grid.
OPTIMIZERS = {
    "gd": {"learning_rate": 0.05},
    "momentum": {"learning_rate": 0.03, "beta": 0.8},
    "nesterov": {"learning_rate": 0.02, "beta": 0.95},
    "rmsprop": {"learning_rate": 0.002, "beta2": 0.95, "epsilon": 1e-6},
    "adam": {"learning_rate": 0.003, "beta1": 0.85, "beta2": 0.99, "epsilon": 1e-7},
    "adamw": {"learning_rate": 0.004, "beta1": 0.8, "beta2": 0.995, "epsilon": 1e-6, "weight_decay": 0.05},
}


def grid() -> list:
    """Every optimizer × every batching × every depth; epsilon side and decay schedule rotate."""
    cases = []
    for (i, name), (j, batch), (k, layers) in itertools.product(
        enumerate(OPTIMIZERS), enumerate(BATCHING), enumerate(DEPTHS)
    ):
        m, epochs = BATCHING[batch]
        decay = DECAYS[(i + j + k) % len(DECAYS)]
        opt = OptimizerConfig(name=name, epsilon_inside_sqrt=(i + j + k) % 2 == 0, **OPTIMIZERS[name])
        config = TrainConfig(
            layers=layers,
            optimizer=opt,
            decay=decay,
            mini_batch_size=batch,
            epochs=epochs,
            record_every=10,
        )
        inside = "in" if opt.epsilon_inside_sqrt else "out"
        case_id = f"{name}-batch{batch or 'm'}-depth{len(layers)}-{decay.name}-eps{inside}"
        cases.append(pytest.param(m, config, id=case_id))
    return cases


def assert_same_run(
    trainer_parameters: dict, trainer_costs: list, ref_parameters: dict, ref_costs: list
) -> None:
    """Same keys and shapes, every parameter and cost within TOLERANCE, cost points at the same epochs."""
    assert sorted(trainer_parameters) == sorted(ref_parameters)
    worst = {}
    for key, expected in ref_parameters.items():
        actual = np.asarray(trainer_parameters[key])
        assert actual.shape == expected.shape, key
        worst[key] = float(np.max(np.abs(actual - expected)))
    assert max(worst.values()) <= TOLERANCE, f"max |trainer - reference| per parameter: {worst}"

    assert [point.epoch for point in trainer_costs] == [epoch for epoch, _ in ref_costs]
    differences = [abs(point.cost - cost) for point, (_, cost) in zip(trainer_costs, ref_costs, strict=True)]
    assert max(differences) <= TOLERANCE, f"worst cost difference {max(differences):.3g}"


def run_both(X: np.ndarray, Y: np.ndarray, config: TrainConfig) -> None:
    result = train(X, Y, config)
    ref_parameters, ref_costs = reference.model(X, Y, config)
    assert_same_run(result.parameters, result.costs, ref_parameters, ref_costs)
    assert result.accuracy == pytest.approx(reference.accuracy(X, Y, ref_parameters), abs=1e-12)


@pytest.mark.parametrize(("m", "config"), grid())
def test_optimizer_batching_depth_grid(m: int, config: TrainConfig) -> None:
    X, Y = make_moons(n_samples=m, noise=0.2, seed=3)
    run_both(X, Y, config)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(TrainConfig(optimizer=OptimizerConfig(name=name), epochs=100), id=f"seed-job-{name}")
        for name in ("gd", "momentum", "adam")
    ],
)
def test_seed_job_first_epochs(config: TrainConfig) -> None:
    """The seed's exact settings (all defaults), 100 epochs."""
    X, Y = make_moons()
    run_both(X, Y, config)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(
            TrainConfig(
                layers=(5, 3),
                optimizer=OptimizerConfig(name="adam", learning_rate=0.01),
                decay=DecayConfig(name="fixed_interval", decay_rate=0.3, time_interval=7),
                mini_batch_size=64,
                epochs=60,
                record_every=7,
                seed=123,
                init_seed=7,
            ),
            id="adam-fixed-interval-seeds-record7",
        ),
        pytest.param(
            TrainConfig(
                layers=(6,),
                optimizer=OptimizerConfig(name="momentum", learning_rate=0.1, beta=0.5),
                decay=DecayConfig(name="inverse_time", decay_rate=2.0),
                mini_batch_size=37,
                epochs=45,
                record_every=11,
                seed=0,
                init_seed=0,
            ),
            id="momentum-inverse-time-seed0",
        ),
        pytest.param(
            TrainConfig(
                layers=(4, 4),
                optimizer=OptimizerConfig(name="gd", learning_rate=0.5),
                decay=DecayConfig(name="fixed_interval", decay_rate=1.0, time_interval=1),
                mini_batch_size=None,
                epochs=30,
                record_every=1,
            ),
            id="gd-full-batch-interval1-every-epoch",
        ),
        pytest.param(
            TrainConfig(
                layers=(3, 3, 3, 3),
                optimizer=OptimizerConfig(
                    name="adamw",
                    learning_rate=0.02,
                    beta1=0.7,
                    beta2=0.9,
                    epsilon=1e-3,
                    epsilon_inside_sqrt=False,
                    weight_decay=0.2,
                ),
                mini_batch_size=1,
                epochs=10,
                record_every=3,
            ),
            id="adamw-sgd-large-epsilon-outside",
        ),
        pytest.param(
            TrainConfig(
                layers=(7,),
                optimizer=OptimizerConfig(name="rmsprop", learning_rate=0.01, beta2=0.8, epsilon=1e-4),
                mini_batch_size=300,
                epochs=50,
                record_every=1000,
            ),
            id="rmsprop-batch-equals-m-record-only-first-and-last",
        ),
    ],
)
def test_schedules_seeds_and_recording(config: TrainConfig) -> None:
    """Decay schedules, non-default shuffle/init seeds and cost points off the record_every grid."""
    X, Y = make_moons()
    run_both(X, Y, config)
    epochs = [epoch for epoch, _ in reference.model(X, Y, config)[1]]
    expected = list(range(1, config.epochs + 1, config.record_every))
    if expected[-1] != config.epochs:
        expected.append(config.epochs)
    assert epochs == expected


def test_more_features_than_two() -> None:
    """Ten features (circles plus noise columns), a depth-3 net, nesterov with decay."""
    X2, Y = make_circles(n_samples=150, noise=0.1, seed=5)
    noise = np.random.default_rng(1).normal(size=(8, 150))
    X = np.ascontiguousarray(np.vstack([X2, noise]))
    config = TrainConfig(
        layers=(9, 6, 3),
        optimizer=OptimizerConfig(name="nesterov", learning_rate=0.05, beta=0.85),
        decay=DecayConfig(name="inverse_time", decay_rate=0.05),
        mini_batch_size=37,
        epochs=80,
        record_every=10,
    )
    run_both(X, Y, config)


def test_validation_split_trains_on_the_rest() -> None:
    """With a validation split the trainer agrees with the reference trained on split_validation's rest."""
    X, Y = make_moons()
    config = TrainConfig(
        optimizer=OptimizerConfig(name="adam", learning_rate=0.01),
        epochs=100,
        validation_fraction=0.2,
    )
    result = train(X, Y, config)
    X_train, Y_train, X_val, Y_val = split_validation(X, Y, config.validation_fraction, config.seed)
    ref_parameters, ref_costs = reference.model(X_train, Y_train, config)
    assert_same_run(result.parameters, result.costs, ref_parameters, ref_costs)
    assert result.accuracy == pytest.approx(reference.accuracy(X_train, Y_train, ref_parameters), abs=1e-12)
    assert result.validation_accuracy == pytest.approx(
        reference.accuracy(X_val, Y_val, ref_parameters), abs=1e-12
    )


def test_training_object_and_on_point_agree_with_reference() -> None:
    """``Training.run`` streams the same points through ``on_point`` that it returns."""
    X, Y = make_moons(n_samples=120, noise=0.3, seed=4)
    config = TrainConfig(
        layers=(5, 4),
        optimizer=OptimizerConfig(name="momentum", learning_rate=0.05, beta=0.7),
        mini_batch_size=16,
        epochs=40,
        record_every=9,
    )
    streamed = []
    result = Training(X, Y, config).run(on_point=streamed.append)
    assert [(p.epoch, p.cost) for p in streamed] == [(p.epoch, p.cost) for p in result.costs]
    ref_parameters, ref_costs = reference.model(X, Y, config)
    assert_same_run(result.parameters, streamed, ref_parameters, ref_costs)


@pytest.mark.seed
@pytest.mark.parametrize(("name", "expected"), [("gd", 0.7967), ("momentum", 0.7967), ("adam", 0.9400)])
def test_seed_table(name: str, expected: float) -> None:
    """The seed's table, 10000 epochs: gd 0.7967, momentum 0.7967, adam 0.9400, trainer and reference."""
    X, Y = make_moons()
    config = TrainConfig(optimizer=OptimizerConfig(name=name))
    result = train(X, Y, config)
    ref_parameters, ref_costs = reference.model(X, Y, config)
    assert round(result.accuracy, 4) == expected
    assert round(reference.accuracy(X, Y, ref_parameters), 4) == expected
    assert_same_run(result.parameters, result.costs, ref_parameters, ref_costs)
