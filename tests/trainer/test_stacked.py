"""Stacked training: each member equals its solo run, has its own life, and resumes bitwise.

"Equal" is absolute: every parameter ``W1, b1 … WL, bL`` and every cost point of a member within 1e-10 of
``Training(X, Y, config).run()`` with the same config (the same tolerance as the equivalence tests), the
same cost epochs, steps and epochs completed. The stacks mix all six optimizers, non-default
hyperparameters, both epsilon sides, the three decay schedules and different init seeds, over depths 1-4
and mini-batch sizes 1, 37 and m.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

from trainer import (
    CheckpointError,
    ConfigError,
    DecayConfig,
    OptimizerConfig,
    StackCheckpoint,
    StackedTraining,
    TrainConfig,
    Training,
    estimate,
    estimate_stack,
    stack_key,
    train,
)
from trainer.data import make_moons
from trainer.errors import DivergedError

TOLERANCE = 1e-10

DEPTHS = ((4,), (5, 2), (6, 4, 3), (8, 5, 4, 3))

# mini-batch size -> (examples, epochs): a few hundred steps per stack.
BATCHING = {1: (60, 3), 37: (300, 12), None: (200, 40)}

OPTIMIZERS = (
    OptimizerConfig(name="gd", learning_rate=0.05),
    OptimizerConfig(name="momentum", learning_rate=0.03, beta=0.8),
    OptimizerConfig(name="nesterov", learning_rate=0.02, beta=0.95),
    OptimizerConfig(name="rmsprop", learning_rate=0.002, beta2=0.95, epsilon=1e-6),
    OptimizerConfig(name="adam", learning_rate=0.003, beta1=0.85, beta2=0.99, epsilon=1e-7),
    OptimizerConfig(
        name="adamw", learning_rate=0.004, beta1=0.8, beta2=0.995, epsilon=1e-6, weight_decay=0.05
    ),
    OptimizerConfig(name="adam", learning_rate=0.01, epsilon_inside_sqrt=False),
    OptimizerConfig(name="rmsprop", learning_rate=0.001, epsilon_inside_sqrt=False),
    OptimizerConfig(name="gd", learning_rate=0.2),
)

DECAYS = (
    DecayConfig(),
    DecayConfig(name="inverse_time", decay_rate=0.05),
    DecayConfig(name="fixed_interval", decay_rate=0.5, time_interval=4),
)


def members(layers, batch, epochs, record_every=3, **shared) -> list[TrainConfig]:
    """Every optimizer of OPTIMIZERS, each with a decay schedule and an init seed of its own."""
    return [
        TrainConfig(
            layers=layers,
            optimizer=optimizer,
            decay=DECAYS[i % len(DECAYS)],
            mini_batch_size=batch,
            epochs=epochs,
            record_every=record_every,
            init_seed=i,
            **shared,
        )
        for i, optimizer in enumerate(OPTIMIZERS)
    ]


def assert_equal_runs(stacked, solo, tolerance: float = TOLERANCE) -> None:
    """Same steps, epochs and cost epochs; parameters and costs within ``tolerance`` (absolute)."""
    assert (stacked.steps, stacked.epochs_completed) == (solo.steps, solo.epochs_completed)
    assert stacked.parameters.keys() == solo.parameters.keys()
    for name, expected in solo.parameters.items():
        assert stacked.parameters[name].shape == expected.shape, name
        assert np.max(np.abs(stacked.parameters[name] - expected)) <= tolerance, name
    assert [p.epoch for p in stacked.costs] == [p.epoch for p in solo.costs]
    for mine, theirs in zip(stacked.costs, solo.costs, strict=True):
        assert abs(mine.cost - theirs.cost) <= tolerance, mine.epoch
    assert stacked.accuracy == solo.accuracy


@pytest.mark.parametrize(
    ("layers", "batch"),
    [pytest.param(layers, batch, id=f"depth{len(layers)}-batch{batch or 'm'}") for layers, batch in
     itertools.product(DEPTHS, BATCHING)],
)  # fmt: skip
def test_each_member_equals_its_solo_run(layers, batch):
    m, epochs = BATCHING[batch]
    X, Y = make_moons(n_samples=m, noise=0.2, seed=3)
    configs = members(layers, batch, epochs)
    results = StackedTraining(X, Y, configs).run()
    assert len(results) == len(configs)
    for config, result in zip(configs, results, strict=True):
        assert result.error is None and not result.stopped
        assert_equal_runs(result, train(X, Y, config))


def test_members_share_the_validation_split():
    X, Y = make_moons()
    configs = members((5, 2), 64, 10, validation_fraction=0.2)
    for config, result in zip(configs, StackedTraining(X, Y, configs).run(), strict=True):
        solo = train(X, Y, config)
        assert_equal_runs(result, solo)
        assert result.validation_accuracy == solo.validation_accuracy is not None


def test_gathering_per_mini_batch_gives_the_same_stack(monkeypatch):
    # Large inputs are shuffled a mini-batch at a time instead of a whole epoch at a time.
    X, Y = make_moons()
    configs = members((5, 2), 37, 3)
    whole_epoch = StackedTraining(X, Y, configs).run()
    monkeypatch.setattr(sys.modules["trainer.batches"], "GATHER_PER_BATCH_BYTES", 0)
    stack = StackedTraining(X, Y, configs)
    assert stack._batches.gather_per_batch
    for per_batch, whole in zip(stack.run(), whole_epoch, strict=True):
        assert all(np.array_equal(per_batch.parameters[k], whole.parameters[k]) for k in whole.parameters)
        assert per_batch.costs == whole.costs


def test_points_reach_the_callback_in_member_order_as_they_are_recorded():
    X, Y = make_moons()
    configs = members((5, 2), 64, 7)
    streamed, epochs = [], []
    results = StackedTraining(X, Y, configs).run(
        on_point=lambda i, p: streamed.append((i, p, len(epochs))), on_epoch=epochs.append
    )
    assert epochs == list(range(1, 8))
    # Each epoch's points come before its on_epoch call, member 0 first.
    assert [(i, p.epoch, done) for i, p, done in streamed] == [
        (i, epoch, epoch - 1) for epoch in (1, 4, 7) for i in range(len(configs))
    ]
    for i, result in enumerate(results):
        assert [p for member, p, _ in streamed if member == i] == result.costs


def test_stopping_one_member_leaves_the_others_going():
    X, Y = make_moons()
    configs = members((5, 2), 64, 10)
    asked, done = 0, []

    def stop_member_4_before_step_23():
        nonlocal asked
        asked += 1
        return {4} if asked == 23 else ()

    results = StackedTraining(X, Y, configs).run(
        should_stop=stop_member_4_before_step_23, on_done=lambda i, r: done.append((i, r.stopped))
    )
    assert done[0] == (4, True)  # reported as it ends, before the others finish
    assert sorted(done) == [(i, i == 4) for i in range(len(configs))]
    solo_asked = 0

    def stop_after_22_steps():
        nonlocal solo_asked
        solo_asked += 1
        return solo_asked > 22

    stopped = Training(X, Y, configs[4]).run(should_stop=stop_after_22_steps)
    assert stopped.stopped and stopped.steps == 22 and stopped.epochs_completed == 4
    assert results[4].stopped
    assert_equal_runs(results[4], stopped)
    for i, (config, result) in enumerate(zip(configs, results, strict=True)):
        if i != 4:
            assert not result.stopped
            assert_equal_runs(result, train(X, Y, config))


def test_member_parameters_are_each_members_own_as_it_trains_and_its_last_once_it_ended():
    X, Y = make_moons()
    configs = members((5, 2), 64, 6)  # 5 mini-batches an epoch
    stack, seen, asked = StackedTraining(X, Y, configs), {}, 0

    def stop_member_4_before_step_13():
        nonlocal asked
        asked += 1
        return {4} if asked == 13 else ()

    def on_epoch(epoch: int) -> None:
        seen[epoch] = [stack.member_parameters(i) for i in range(len(configs))]

    results = stack.run(on_epoch=on_epoch, should_stop=stop_member_4_before_step_13)
    assert sorted(seen) == list(range(1, 7)) and results[4].epochs_completed == 2
    for i, config in enumerate(configs):
        solo, at = Training(X, Y, config), {}
        solo.run(on_epoch=lambda epoch, solo=solo, at=at: at.__setitem__(epoch, solo.parameters()))
        for epoch, members_at in seen.items():
            expected = results[4].parameters if i == 4 and epoch > 2 else at[epoch]
            for name, array in expected.items():
                assert np.max(np.abs(members_at[i][name] - array)) <= TOLERANCE, (i, epoch, name)
        for name, array in results[i].parameters.items():
            assert np.array_equal(stack.member_parameters(i)[name], array), "after the run: its result's"


def test_stopping_every_member_ends_the_stack_mid_epoch():
    X, Y = make_moons()
    configs = members((5, 2), 64, 10)
    stack = StackedTraining(X, Y, configs)
    asked = 0

    def stop_all_before_step_8():
        nonlocal asked
        asked += 1
        return range(len(configs)) if asked == 8 else ()

    results = stack.run(should_stop=stop_all_before_step_8)
    assert [(r.stopped, r.steps, r.epochs_completed) for r in results] == [(True, 7, 1)] * len(configs)
    assert asked == 8
    with pytest.raises(CheckpointError, match="mid-epoch"):
        stack.checkpoint()


def diverging_stack() -> tuple[np.ndarray, np.ndarray, list[TrainConfig]]:
    """Moons, a depth-1 net on full batches; member 1 (momentum at lr 1e20) diverges in epoch 9."""
    X, Y = make_moons()
    shared = {"layers": (4,), "mini_batch_size": None, "epochs": 20, "record_every": 2}
    configs = [
        TrainConfig(optimizer=OptimizerConfig(name="adam", learning_rate=0.01), **shared),
        TrainConfig(optimizer=OptimizerConfig(name="momentum", learning_rate=1e20, beta=0.99), **shared),
        TrainConfig(optimizer=OptimizerConfig(name="gd", learning_rate=0.3), init_seed=5, **shared),
    ]
    return X, Y, configs


def test_a_diverging_member_ends_alone_with_its_costs_so_far():
    X, Y, configs = diverging_stack()
    solo_points = []
    with pytest.raises(DivergedError) as caught:
        Training(X, Y, configs[1]).run(on_point=solo_points.append)
    assert caught.value.epoch == 9

    streamed = []
    results = StackedTraining(X, Y, configs).run(on_point=lambda i, p: streamed.append((i, p)))
    diverged = results[1]
    assert diverged.error == "diverged at epoch 9"
    assert diverged.epochs_completed == 8 and diverged.steps == 9 and not diverged.stopped
    assert diverged.accuracy is None and diverged.validation_accuracy is None
    assert [p.epoch for p in diverged.costs] == [p.epoch for p in solo_points] == [1, 3, 5, 7]
    for mine, theirs in zip(diverged.costs, solo_points, strict=True):
        assert mine.cost == pytest.approx(theirs.cost, rel=TOLERANCE)  # they grow to 1e135: relative
    assert [p for i, p in streamed if i == 1] == diverged.costs
    for i in (0, 2):
        assert results[i].error is None
        assert_equal_runs(results[i], train(X, Y, configs[i]))
        assert [p for member, p in streamed if member == i] == results[i].costs


def test_resuming_a_checkpoint_is_bitwise_equal_to_an_uninterrupted_stack():
    X, Y, diverging = diverging_stack()
    configs = [*diverging, *members((4,), None, 20, record_every=2)]
    stop_at = {"asked": 0}

    def stop_member_5_in_epoch_4():
        stop_at["asked"] += 1
        return {5} if stop_at["asked"] == 4 else ()

    uninterrupted = StackedTraining(X, Y, configs).run(should_stop=stop_member_5_in_epoch_4)
    stop_at["asked"] = 0
    first = StackedTraining(X, Y, configs)
    saved: list[bytes] = []
    first.run(
        should_stop=stop_member_5_in_epoch_4,
        on_epoch=lambda epoch: saved.append(first.checkpoint().to_bytes()) if epoch == 12 else None,
    )
    checkpoint = StackCheckpoint.from_bytes(saved[0])
    assert checkpoint.epoch == 12 and checkpoint.step == 12
    assert checkpoint.status.tolist() == [0, 2, 0, 0, 0, 1] + [0] * (len(configs) - 6)

    resumed = StackedTraining(X, Y, configs, resume=checkpoint).run()
    for before, after in zip(uninterrupted, resumed, strict=True):
        for name, value in before.parameters.items():
            assert np.array_equal(value, after.parameters[name], equal_nan=True), name
        assert [p for p in before.costs if p.epoch > 12] == after.costs
        assert (before.steps, before.epochs_completed, before.stopped, before.error) == (
            after.steps,
            after.epochs_completed,
            after.stopped,
            after.error,
        )


def test_a_checkpoint_of_another_stack_is_refused():
    X, Y = make_moons()
    configs = members((5, 2), 64, 4)
    checkpoint = StackedTraining(X, Y, configs).checkpoint()
    with pytest.raises(CheckpointError, match="does not fit"):
        StackedTraining(X, Y, configs[:-1], resume=checkpoint)
    with pytest.raises(CheckpointError, match="does not fit"):
        StackedTraining(X, Y, members((4,), 64, 4), resume=checkpoint)
    with pytest.raises(CheckpointError, match="not a descent stack checkpoint"):
        StackCheckpoint.from_bytes(b"not an archive")


def test_stack_key_holds_the_shared_settings_only():
    base = TrainConfig()
    same = [
        TrainConfig(optimizer=OptimizerConfig(name="gd", learning_rate=0.1)),
        TrainConfig(decay=DecayConfig(name="inverse_time")),
        TrainConfig(init_seed=99),
    ]
    assert all(stack_key(config) == stack_key(base) for config in same)
    different = {
        "layers": (4,),
        "mini_batch_size": 32,
        "epochs": 7,
        "record_every": 5,
        "seed": 1,
        "validation_fraction": 0.1,
    }
    for field, value in different.items():
        other = TrainConfig(**{field: value})
        assert stack_key(other) != stack_key(base)
        with pytest.raises(ConfigError, match=f"member 1 .*{field}"):
            StackedTraining(*make_moons(), [base, other])
    with pytest.raises(ConfigError, match="at least one member"):
        StackedTraining(*make_moons(), [])


def test_estimate_of_a_stack_matches_its_run():
    X, Y = make_moons()
    configs = members((5, 2), 37, 4)
    predicted = estimate_stack(configs, n_features=2, n_examples=300)
    result = StackedTraining(X, Y, configs).run()[0]
    one = estimate(configs[0], n_features=2, n_examples=300)
    assert predicted.steps == result.steps == one.steps
    assert predicted.parameters == len(configs) * one.parameters
    assert predicted.flops == len(configs) * one.flops
    assert predicted.memory_bytes > one.memory_bytes
    with pytest.raises(ConfigError):
        estimate_stack([configs[0], TrainConfig(epochs=5)], n_features=2, n_examples=300)


@pytest.mark.seed
def test_the_seed_comparison_stacked():
    """The course's table, 10000 epochs, gd/momentum/adam as one stack: 0.7967 / 0.7967 / 0.9400."""
    configs = [TrainConfig(optimizer=OptimizerConfig(name=name)) for name in ("gd", "momentum", "adam")]
    results = StackedTraining(*make_moons(), configs).run()
    assert [round(result.accuracy, 4) for result in results] == [0.7967, 0.7967, 0.9400]
