"""Malformed and oversized specs: each a 422 whose detail names the field (and the cap)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.config import Settings
from core.spec import SPEC_EXAMPLES, TrainingSpec
from trainer.config import OptimizerConfig, TrainConfig

# (body, a field the error's loc must name, words the message must contain)
MALFORMED = [
    ({"optimiser": {"name": "adam"}}, "optimiser", "Extra inputs"),
    ({"epochs": "5"}, "epochs", "valid integer"),
    ({"epochs": 5.5}, "epochs", "valid integer"),
    ({"epochs": True}, "epochs", "valid integer"),
    ({"layers": [5, "2"]}, "layers", "valid integer"),
    ({"optimizer": {"name": "adam", "epsilon_inside_sqrt": "yes"}}, "epsilon_inside_sqrt", "boolean"),
    ({"optimizer": {"name": "gd", "learning_rate": 0}}, "learning_rate", "greater than 0"),
    ({"optimizer": {"name": "gd", "learning_rate": -0.1}}, "learning_rate", "greater than 0"),
    ({"optimizer": {"name": "momentum", "beta": 1.0}}, "beta", "less than 1"),
    ({"optimizer": {"name": "adam", "beta2": 1}}, "beta2", "less than 1"),
    ({"optimizer": {"name": "adam", "beta1": -0.1}}, "beta1", "greater than or equal to 0"),
    ({"optimizer": {"name": "rmsprop", "epsilon": 0}}, "epsilon", "greater than 0"),
    ({"optimizer": {"name": "adamw", "weight_decay": -1}}, "weight_decay", "greater than or equal to 0"),
    ({"optimizer": {"name": "momentum", "beta1": 0.9}}, "beta1", "Extra inputs"),
    ({"optimizer": {"name": "gd", "beta": 0.9}}, "beta", "Extra inputs"),
    ({"optimizer": {"name": "sgd"}}, "name", "one of 'gd', 'momentum'"),
    ({"optimizer": {"learning_rate": 0.1}}, "name", "Field required"),
    ({"mini_batch_size": 0}, "mini_batch_size", 'whole number ≥ 1 or "full"'),
    ({"mini_batch_size": "all"}, "mini_batch_size", 'whole number ≥ 1 or "full"'),
    ({"epochs": 0}, "epochs", "greater than or equal to 1"),
    ({"record_every": 0}, "record_every", "greater than or equal to 1"),
    ({"layers": []}, "layers", "at least 1 item"),
    ({"layers": [5, 0]}, "layers", "greater than or equal to 1"),
    ({"validation_fraction": 1.0}, "validation_fraction", "less than 1"),
    ({"seed": -1}, "seed", "greater than or equal to 0"),
    ({"decay": {"name": "exponential"}}, "decay", "inverse_time"),
    (
        {"decay": {"name": "fixed_interval", "time_interval": 0}},
        "time_interval",
        "greater than or equal to 1",
    ),
    ({"decay": {"name": "inverse_time", "rate": 1}}, "rate", "Extra inputs"),
    ({"dataset": {"name": "spirals"}}, "dataset", "moons"),
    ({"dataset": {"name": "moons", "n_samples": 1}}, "n_samples", "greater than or equal to 2"),
    ({"dataset": {"X": [[1.0, 2.0], [3.0, 4.0]], "Y": [0, 1, 1]}}, "dataset", "labels"),
    ({"dataset": {"X": [[1.0, 2.0], [3.0]], "Y": [0, 1]}}, "dataset", "same length"),
    ({"dataset": {"X": [[1.0, 2.0]], "Y": [0, 2]}}, "dataset", "0 or 1"),
    ({"dataset": {"X": [[1.0, 2.0]]}}, "Y", "Field required"),
    ({"dataset": {"id": "nope"}}, "id", "no dataset with id"),
    ({"dataset": {"id": "x", "name": "moons"}}, "name", "Extra inputs"),
]

OVER_CAPS = [
    ({"layers": [4] * 11}, "layers", "cap of 10"),
    ({"layers": [5, 2000]}, "layers", "cap of 1024"),
    ({"layers": [1000, 1000, 1000]}, "layers", "cap of 2000000"),
    ({"epochs": 200_000}, "epochs", "cap of 50000000"),
    ({"dataset": {"name": "moons", "n_samples": 100_000}, "epochs": 1000}, "epochs", "cap of 50000000"),
    ({"validation_fraction": 0.999}, "validation_fraction", "none to train on"),
]


def assert_422_naming(client: TestClient, body: dict, field: str, words: str) -> None:
    response = client.post("/jobs", json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert isinstance(errors, list) and errors
    named = [e for e in errors if field in e["loc"] and e["loc"][0] == "body"]
    assert named, f"no error names {field!r}: {errors}"
    assert any(words in e["msg"] for e in named), errors


@pytest.mark.parametrize(("body", "field", "words"), MALFORMED)
def test_malformed_spec_is_422_naming_the_field(
    client: TestClient, body: dict, field: str, words: str
) -> None:
    assert_422_naming(client, body, field, words)


@pytest.mark.parametrize(("body", "field", "words"), OVER_CAPS)
def test_over_a_cap_is_422_giving_the_cap(client: TestClient, body: dict, field: str, words: str) -> None:
    assert_422_naming(client, body, field, words)


def test_inline_data_cap(client: TestClient, settings: Settings) -> None:
    from service.main import create_app

    small = settings.model_copy(update={"max_inline_values": 10})
    with TestClient(create_app(small)) as tiny:
        body = {"dataset": {"X": [[0.0] * 4, [1.0] * 4], "Y": [0, 1, 0, 1]}, "epochs": 2}
        assert_422_naming(tiny, body, "X", "cap of 10")


def test_inline_dataset_is_accepted(client: TestClient) -> None:
    body = {"dataset": {"X": [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0]], "Y": [0, 1, 1]}, "epochs": 3}
    response = client.post("/jobs", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["spec"]["dataset"] == {
        "X": [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0]],
        "Y": [0.0, 1.0, 1.0],
    }


@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
def test_seed_examples_reproduce_the_seed_config(name: str) -> None:
    spec = TrainingSpec.model_validate(SPEC_EXAMPLES[name]["value"])
    assert spec.to_train_config() == TrainConfig(optimizer=OptimizerConfig(name=name))
    assert (
        TrainingSpec.model_validate({"optimizer": {"name": name}}).to_train_config() == spec.to_train_config()
    )


def test_every_optimizer_example_is_valid() -> None:
    names = {TrainingSpec.model_validate(e["value"]).optimizer.name for e in SPEC_EXAMPLES.values()}
    assert names == {"gd", "momentum", "nesterov", "rmsprop", "adam", "adamw"}


def test_integral_floats_are_ints() -> None:
    spec = TrainingSpec.model_validate({"epochs": 5.0, "layers": [4.0, 2]})
    assert spec.epochs == 5 and isinstance(spec.epochs, int) and spec.layers == [4, 2]


def test_full_batch_and_decay_map_to_the_trainer() -> None:
    spec = TrainingSpec.model_validate(
        {"mini_batch_size": "full", "decay": {"name": "inverse_time", "decay_rate": 0.5}}
    )
    config = spec.to_train_config()
    assert config.mini_batch_size is None and config.decay.name == "inverse_time"
    assert config.decay.decay_rate == 0.5
