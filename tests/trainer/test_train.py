"""The training loop's contract: cost points, streaming, cancel, checkpoints, divergence, estimates."""

import sys

import numpy as np
import pytest

from trainer import (
    Checkpoint,
    CheckpointError,
    ConfigError,
    CostPoint,
    DivergedError,
    OptimizerConfig,
    TrainConfig,
    Training,
    estimate,
    load_builtin,
    train,
)
from trainer.network import initialize_parameters, pack, parameter_count, unpack


@pytest.fixture(scope="module")
def moons():
    return load_builtin("moons")


def config(**overrides) -> TrainConfig:
    return TrainConfig(**{"epochs": 30, "record_every": 10, **overrides})


def assert_same_parameters(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for name in left:
        assert np.array_equal(left[name], right[name]), name


def test_points_are_recorded_every_record_every_epochs_and_at_the_last(moons):
    result = train(*moons, config(epochs=25))
    assert [p.epoch for p in result.costs] == [1, 11, 21, 25]
    assert result.final_cost == result.costs[-1].cost
    assert result.epochs_completed == 25
    assert result.steps == 25 * 5  # 300 examples in mini-batches of 64: 4 full and one of 44


def test_points_reach_the_callback_as_they_are_recorded(moons):
    seen: list[tuple[CostPoint, int]] = []
    epochs: list[int] = []
    result = train(*moons, config(), on_point=lambda p: seen.append((p, len(epochs))), on_epoch=epochs.append)
    assert [p for p, _ in seen] == result.costs
    # Each point arrives before the on_epoch call of its own epoch.
    assert [done for _, done in seen] == [p.epoch - 1 for p in result.costs]
    assert epochs == list(range(1, 31))


def test_exported_parameters_have_the_course_names_and_shapes(moons):
    result = train(*moons, config(layers=(5, 3, 2)))
    shapes = {name: array.shape for name, array in result.parameters.items()}
    assert shapes == {
        "W1": (5, 2), "b1": (5, 1), "W2": (3, 5), "b2": (3, 1),
        "W3": (2, 3), "b3": (2, 1), "W4": (1, 2), "b4": (1, 1),
    }  # fmt: skip


def test_pack_and_unpack_are_inverse():
    sizes = (4, 6, 3, 1)
    parameters = initialize_parameters(sizes, init_seed=7)
    flat = pack(parameters, sizes)
    assert flat.size == parameter_count(sizes) == 6 * 5 + 3 * 7 + 1 * 4
    assert_same_parameters(unpack(flat, sizes), parameters)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_resumed_run_is_bitwise_equal_to_an_uninterrupted_one(moons, optimizer):
    settings = config(optimizer=OptimizerConfig(name=optimizer, learning_rate=0.01))
    uninterrupted = train(*moons, settings)

    first = Training(*moons, settings)
    saved: list[bytes] = []
    first.run(on_epoch=lambda e: saved.append(first.checkpoint().to_bytes()) if e == 13 else None)
    resumed = Training(*moons, settings, resume=Checkpoint.from_bytes(saved[0])).run()

    assert_same_parameters(resumed.parameters, uninterrupted.parameters)
    assert resumed.steps == uninterrupted.steps
    assert [p for p in uninterrupted.costs if p.epoch > 13] == resumed.costs


def test_checkpoint_of_another_net_is_refused(moons):
    checkpoint = Training(*moons, config(layers=(4,))).checkpoint()
    with pytest.raises(CheckpointError, match="does not fit"):
        Training(*moons, config(layers=(5, 2)), resume=checkpoint)


def test_damaged_checkpoint_bytes_are_refused():
    with pytest.raises(CheckpointError, match="not a descent checkpoint"):
        Checkpoint.from_bytes(b"not an archive")


def test_should_stop_ends_the_run_between_steps(moons):
    calls = 0

    def stop_after_seven_steps() -> bool:
        nonlocal calls
        calls += 1
        return calls > 7

    training = Training(*moons, config())
    result = training.run(should_stop=stop_after_seven_steps)
    assert result.stopped
    assert result.steps == 7
    assert result.epochs_completed == 1  # 5 steps per epoch: epoch 2 was cut after 2 steps
    assert [p.epoch for p in result.costs] == [1]
    with pytest.raises(CheckpointError, match="mid-epoch"):
        training.checkpoint()


def test_a_diverging_run_names_the_epoch(moons):
    X, Y = moons
    settings = config(optimizer=OptimizerConfig(name="gd", learning_rate=1.0))
    with pytest.raises(DivergedError) as caught:
        train(X * 1e200, Y, settings)  # the logits overflow to inf within a few steps
    assert 1 <= caught.value.epoch <= 30
    assert str(caught.value) == f"diverged at epoch {caught.value.epoch}"


def test_full_batch_and_stochastic_modes(moons):
    X, Y = moons
    batch = train(X, Y, config(mini_batch_size=None, epochs=3))
    stochastic = train(X, Y, config(mini_batch_size=1, epochs=3))
    oversized = train(X, Y, config(mini_batch_size=1000, epochs=3))
    assert batch.steps == 3
    assert stochastic.steps == 3 * 300
    assert_same_parameters(oversized.parameters, batch.parameters)


def test_validation_split_reports_both_accuracies(moons):
    result = train(*moons, config(validation_fraction=0.2))
    assert result.validation_accuracy is not None
    assert 0.0 <= result.validation_accuracy <= 1.0
    assert result.steps == 30 * 4  # 240 training examples: 3 full mini-batches and one of 48


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"optimizer": OptimizerConfig(learning_rate=0.0)}, "learning_rate"),
        ({"optimizer": OptimizerConfig(beta1=1.0)}, "beta1"),
        ({"optimizer": OptimizerConfig(epsilon=0.0)}, "epsilon"),
        ({"mini_batch_size": 0}, "mini_batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"layers": (5, 0)}, "layers"),
        ({"record_every": 0}, "record_every"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_out_of_range_settings_are_refused(moons, overrides, message):
    with pytest.raises(ConfigError, match=message):
        Training(*moons, config(**overrides))


def test_estimate_matches_the_run(moons):
    X, _ = moons
    settings = config(layers=(5, 2))
    predicted = estimate(settings, n_features=X.shape[0], n_examples=X.shape[1])
    result = train(*moons, settings)
    assert predicted.steps == result.steps
    assert predicted.parameters == 5 * 3 + 2 * 6 + 1 * 3
    assert predicted.flops == 6.0 * predicted.parameters * 300 * 30
    assert predicted.memory_bytes > 8 * 2 * 300 * 3


def test_gathering_per_mini_batch_gives_the_same_run(moons, monkeypatch):
    # Large inputs are shuffled a mini-batch at a time instead of a whole epoch at a time.
    settings = config(optimizer=OptimizerConfig(name="adam", learning_rate=0.01), mini_batch_size=37)
    whole_epoch = train(*moons, settings)
    monkeypatch.setattr(sys.modules["trainer.batches"], "GATHER_PER_BATCH_BYTES", 0)
    training = Training(*moons, settings)
    assert training._batches.gather_per_batch
    per_batch = training.run()
    assert_same_parameters(per_batch.parameters, whole_epoch.parameters)
    assert per_batch.costs == whole_epoch.costs
