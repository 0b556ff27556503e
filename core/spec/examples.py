"""The OpenAPI examples of ``POST /jobs``: the seed's runs, one per optimizer."""

from __future__ import annotations

from typing import Any


def _seed_example(optimizer: dict[str, Any]) -> dict[str, Any]:
    return {
        "optimizer": optimizer,
        "dataset": {"name": "moons"},
        "layers": [5, 2],
        "mini_batch_size": 64,
        "epochs": 10000,
        "record_every": 100,
        "seed": 10,
        "init_seed": 3,
    }


SPEC_EXAMPLES: dict[str, dict[str, Any]] = {
    "gd": {
        "summary": "Gradient descent: the seed's run (training accuracy 0.7967)",
        "value": _seed_example({"name": "gd", "learning_rate": 0.0007}),
    },
    "momentum": {
        "summary": "Momentum: the seed's run (training accuracy 0.7967)",
        "value": _seed_example({"name": "momentum", "learning_rate": 0.0007, "beta": 0.9}),
    },
    "adam": {
        "summary": "Adam: the seed's run (training accuracy 0.9400)",
        "value": _seed_example(
            {"name": "adam", "learning_rate": 0.0007, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
        ),
    },
    "nesterov": {
        "summary": "Nesterov momentum on the seed's moons",
        "value": _seed_example({"name": "nesterov", "learning_rate": 0.0007, "beta": 0.9}),
    },
    "rmsprop": {
        "summary": "RMSProp on the seed's moons",
        "value": _seed_example({"name": "rmsprop", "learning_rate": 0.0007, "beta2": 0.999, "epsilon": 1e-8}),
    },
    "adamw": {
        "summary": "AdamW on the seed's moons, with a 20% validation split",
        "value": {
            **_seed_example({"name": "adamw", "learning_rate": 0.0007, "weight_decay": 0.01}),
            "validation_fraction": 0.2,
        },
    },
}
