"""An experiment's members, labels, curve figures and stacks, from the request alone."""

from __future__ import annotations

import pytest

from core.errors import InvalidMembers, SpecRejected
from core.experiments.curves import epochs_to_converge, roughness, shape
from core.experiments.members import expand
from core.experiments.request import ExperimentCreate
from core.experiments.table import experiment_status
from core.queue import stack_groups


def members(body: dict, cap: int = 256):
    return expand(ExperimentCreate.model_validate(body), cap)


def test_the_empty_body_is_the_courses_comparison_on_the_seeds_job() -> None:
    found = members({})
    assert [m.label for m in found] == ["gd", "momentum", "adam"]
    assert [m.spec.optimizer.name for m in found] == ["gd", "momentum", "adam"]
    assert {m.spec.optimizer.learning_rate for m in found} == {0.0007}
    assert {(m.spec.epochs, m.spec.mini_batch_size, tuple(m.spec.layers)) for m in found} == {
        (10000, 64, (5, 2))
    }


def test_a_grid_is_the_cartesian_product_in_path_order() -> None:
    grid = {
        "optimizer.name": ["gd", "momentum", "adam"],
        "optimizer.learning_rate": [0.0007, 0.007],
        "init_seed": [1, 2, 3],
    }
    found = members({"grid": grid})
    assert len(found) == 18
    assert found[0].label == "gd lr=0.0007 init_seed=1" and found[-1].label == "adam lr=0.007 init_seed=3"
    assert found[-1].params == {"optimizer.name": "adam", "optimizer.learning_rate": 0.007, "init_seed": 3}
    assert len({m.label for m in found}) == 18


def test_changing_the_optimizer_keeps_the_fields_both_have() -> None:
    found = members(
        {
            "base": {"optimizer": {"name": "adam", "learning_rate": 0.01, "beta2": 0.99}},
            "variants": [{"optimizer": {"name": "rmsprop"}}, {"optimizer": {"name": "gd"}}],
        }
    )
    rmsprop, gd = (m.spec.optimizer for m in found)
    assert (rmsprop.name, rmsprop.learning_rate, rmsprop.beta2) == ("rmsprop", 0.01, 0.99)
    assert (gd.name, gd.learning_rate) == ("gd", 0.01)


def test_a_random_search_is_reproducible_from_its_seed_and_inside_its_space() -> None:
    body = {
        "random": {
            "n": 16,
            "seed": 7,
            "space": {
                "optimizer.learning_rate": {"log_uniform": [1e-4, 1e-1]},
                "init_seed": {"int_uniform": [1, 3]},
                "optimizer.beta1": {"choice": [0.8, 0.9]},
            },
        }
    }
    first, again = members(body), members(body)
    assert [m.spec for m in first] == [m.spec for m in again]
    rates = [m.spec.optimizer.learning_rate for m in first]
    assert all(1e-4 <= r <= 1e-1 for r in rates) and len(set(rates)) == 16
    assert {m.spec.init_seed for m in first} <= {1, 2, 3}
    other = members({"random": {**body["random"], "seed": 8}})
    assert [m.spec for m in other] != [m.spec for m in first]


def test_variants_grid_and_random_multiply() -> None:
    body = {
        "variants": [{"optimizer": {"name": "gd"}}, {"optimizer": {"name": "adam"}}],
        "grid": {"init_seed": [1, 2]},
        "random": {"n": 3, "space": {"optimizer.learning_rate": {"uniform": [0.001, 0.01]}}},
    }
    assert len(members(body)) == 2 * 2 * 3


def test_an_unknown_path_is_refused_naming_it() -> None:
    with pytest.raises(SpecRejected) as refused:
        members({"grid": {"optimizer.lrate": [0.1]}})
    assert refused.value.loc == ("grid", "optimizer.lrate")
    with pytest.raises(SpecRejected) as refused:
        members({"random": {"n": 2, "space": {"nope": {"uniform": [0, 1]}}}})
    assert refused.value.loc == ("random", "space", "nope")


def test_a_bad_member_is_refused_naming_its_index_and_field() -> None:
    with pytest.raises(InvalidMembers) as refused:
        members({"variants": [{}, {"epochs": 0}, {"optimizer": {"name": "gd", "beta": 0.9}}]})
    locs = [error["loc"] for error in refused.value.errors]
    assert ("members", 1, "epochs") in locs
    assert any(loc[:2] == ("members", 2) and loc[-1] == "beta" for loc in locs)


def test_the_member_cap_holds_before_anything_is_validated() -> None:
    with pytest.raises(SpecRejected, match="257 members, over the cap of 256"):
        members({"grid": {"init_seed": list(range(257))}})


def test_roughness_is_one_for_a_monotone_curve_and_grows_with_bumps() -> None:
    assert roughness([1.0, 0.8, 0.5, 0.4]) == pytest.approx(1.0)
    assert roughness([1.0, 0.6, 0.8, 0.4]) == pytest.approx((0.4 + 0.2 + 0.4) / 0.6)
    assert roughness([0.5, 0.7]) is None and roughness([1.0]) is None
    assert shape(1.05) == "smooth" and shape(1.2) == "oscillating" and shape(None) == "oscillating"


def test_epochs_to_converge_is_the_first_point_within_one_percent_of_the_final_cost() -> None:
    points = [(1, 1.0), (101, 0.5), (201, 0.304), (301, 0.3015), (401, 0.3)]
    assert epochs_to_converge(points) == 301
    assert epochs_to_converge([]) is None


def test_members_stack_by_data_and_shape_at_most_max_to_a_stack() -> None:
    found = members(
        {"grid": {"optimizer.name": ["gd", "adam"], "mini_batch_size": [64, "full"], "init_seed": [1, 2, 3]}}
    )
    groups = stack_groups(found, max_stack=4)
    shapes = [{found[i].spec.mini_batch_size for i in group} for group in groups]
    assert all(len(s) == 1 for s in shapes), "one mini-batch size per stack"
    assert sorted(len(group) for group in groups) == [2, 2, 4, 4]
    assert sorted(i for group in groups for i in group) == list(range(12))


def test_the_experiments_status_follows_its_members() -> None:
    assert experiment_status(["queued", "queued"]) == "queued"
    assert experiment_status(["running", "queued"]) == "running"
    assert experiment_status(["succeeded", "queued"]) == "running"
    assert experiment_status(["succeeded", "failed"]) == "succeeded"
    assert experiment_status(["failed", "canceled"]) == "failed"
    assert experiment_status(["canceled", "canceled"]) == "canceled"
