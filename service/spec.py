"""The training spec: the ONE model shared by the API (request body of ``POST /jobs``) and the worker.

Every field defaults to the seed's job (moons, hidden layers ``[5, 2]``, Adam with learning rate 0.0007,
mini-batches of 64, 10000 epochs, seeds 10 and 3), so ``{"optimizer": {"name": "adam"}}`` reproduces the
seed's Adam run. Types are strict (``"5"`` is not an int, ``5.0`` is not an int) and unknown fields are
refused everywhere, so a typo is a 422 that names the field rather than a silently ignored setting
(an integral float such as ``5.0`` counts as an int, as in JSON Schema).

* ``optimizer`` is a union discriminated on ``name``; each optimizer has only its own fields.
* ``dataset`` is one of ``{"name": builtin, "n_samples", "noise", "seed"}``, ``{"id": uploaded}`` or inline
  ``{"X": [[...]], "Y": [...]}`` with X as features × examples (``X[i][j]`` is feature i of example j).

Caps that depend on settings and on the data's shape (layers, width, parameters, epochs × examples, inline
values) are checked by :func:`check_caps`, each refusal a :class:`~service.errors.SpecRejected` naming the
field and the cap.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator

from service.errors import SpecRejected
from trainer.config import DecayConfig, OptimizerConfig, TrainConfig
from trainer.data import DATASET_NAMES, check_arrays, load_builtin
from trainer.errors import DataError
from trainer.estimate import estimate

if TYPE_CHECKING:
    from service.config import Settings

MAX_SEED = 2**31 - 1


def _integral_float_to_int(value: Any) -> Any:
    """``5.0`` → ``5``: JSON Schema counts a number with no fractional part as an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Int = Annotated[int, BeforeValidator(_integral_float_to_int)]
"""A strict int ("5", true and 5.5 are refused) that also takes 5.0."""


class StrictModel(BaseModel):
    """Base of every spec model: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------------------------- optimizers

LearningRate = Annotated[float, Field(gt=0, description="Step size α > 0.")]
Beta = Annotated[float, Field(ge=0, lt=1, description="Exponential average factor in [0, 1).")]
Epsilon = Annotated[float, Field(gt=0, description="Added to the RMS denominator, > 0.")]
EpsilonInsideSqrt = Annotated[
    bool,
    Field(description="True: v / sqrt(s + ε) (the seed). False: v / (sqrt(s) + ε) (PyTorch)."),
]


class GD(StrictModel):
    """Plain (mini-batch) gradient descent: ``W -= α g``."""

    name: Literal["gd"] = "gd"
    learning_rate: LearningRate = 0.0007


class Momentum(StrictModel):
    """Momentum: ``v = β v + (1 − β) g; W -= α v``."""

    name: Literal["momentum"] = "momentum"
    learning_rate: LearningRate = 0.0007
    beta: Beta = 0.9


class Nesterov(StrictModel):
    """Nesterov momentum: ``v = β v + (1 − β) g; W -= α (β v + (1 − β) g)``."""

    name: Literal["nesterov"] = "nesterov"
    learning_rate: LearningRate = 0.0007
    beta: Beta = 0.9


class RMSProp(StrictModel):
    """RMSProp: ``s = β₂ s + (1 − β₂) g²; W -= α g / sqrt(s + ε)``."""

    name: Literal["rmsprop"] = "rmsprop"
    learning_rate: LearningRate = 0.0007
    beta2: Beta = 0.999
    epsilon: Epsilon = 1e-8
    epsilon_inside_sqrt: EpsilonInsideSqrt = True


class Adam(StrictModel):
    """Adam with bias correction: ``W -= α v̂ / sqrt(ŝ + ε)``."""

    name: Literal["adam"] = "adam"
    learning_rate: LearningRate = 0.0007
    beta1: Beta = 0.9
    beta2: Beta = 0.999
    epsilon: Epsilon = 1e-8
    epsilon_inside_sqrt: EpsilonInsideSqrt = True


class AdamW(StrictModel):
    """AdamW: ``W -= α λ W`` (decoupled weight decay), then the Adam step."""

    name: Literal["adamw"] = "adamw"
    learning_rate: LearningRate = 0.0007
    beta1: Beta = 0.9
    beta2: Beta = 0.999
    epsilon: Epsilon = 1e-8
    epsilon_inside_sqrt: EpsilonInsideSqrt = True
    weight_decay: float = Field(default=0.01, ge=0, description="Decoupled weight decay λ >= 0.")


Optimizer = Annotated[GD | Momentum | Nesterov | RMSProp | Adam | AdamW, Field(discriminator="name")]


# ------------------------------------------------------------------------------------------------ datasets


class BuiltinDataset(StrictModel):
    """A generated set; unset fields take the generator's defaults (the seed's moons)."""

    name: Literal["moons", "circles", "blobs", "flower"] = "moons"
    n_samples: Int | None = Field(default=None, ge=2, le=1_000_000)
    noise: float | None = Field(default=None, ge=0, le=10)
    seed: Int | None = Field(default=None, ge=0, le=MAX_SEED)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Generate X (n_x, m) and Y (1, m)."""
        return load_builtin(self.name, n_samples=self.n_samples, noise=self.noise, seed=self.seed)

    def shape(self) -> tuple[int, int]:
        """``(n_features, n_examples)`` without generating the whole set."""
        n_features, default_examples = _builtin_default_shape(self.name)
        return n_features, self.n_samples if self.n_samples is not None else default_examples


class UploadedDataset(StrictModel):
    """A set uploaded with ``POST /datasets``."""

    id: str = Field(min_length=1, max_length=64, description="The id returned by POST /datasets.")


class InlineDataset(StrictModel):
    """Small arrays in the request: X is features × examples, Y holds one 0/1 label per example."""

    X: list[list[float]] = Field(min_length=1, description="Features × examples: X[i][j] is feature i of j.")
    Y: list[float] = Field(min_length=1, description="One 0/1 label per example (a column of X).")

    @model_validator(mode="after")
    def _check(self) -> InlineDataset:
        widths = {len(row) for row in self.X}
        if len(widths) != 1:
            raise ValueError("every row of X (one per feature) must have the same length (the examples)")
        try:
            check_arrays(np.asarray(self.X, dtype=np.float64), np.asarray(self.Y, dtype=np.float64))
        except DataError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """X (n_x, m) and Y (1, m) as float64."""
        return check_arrays(np.asarray(self.X, dtype=np.float64), np.asarray(self.Y, dtype=np.float64))

    def shape(self) -> tuple[int, int]:
        """``(n_features, n_examples)``."""
        return len(self.X), len(self.Y)


def _dataset_kind(value: Any) -> str:
    """Which dataset model a raw value is: ``id`` → uploaded, ``X``/``Y`` → inline, else builtin."""
    keys = value.keys() if isinstance(value, dict) else vars(value) if isinstance(value, BaseModel) else ()
    if "id" in keys:
        return "uploaded"
    if "X" in keys or "Y" in keys:
        return "inline"
    return "builtin"


Dataset = Annotated[
    Annotated[BuiltinDataset, Tag("builtin")]
    | Annotated[UploadedDataset, Tag("uploaded")]
    | Annotated[InlineDataset, Tag("inline")],
    Discriminator(_dataset_kind),
]


@lru_cache(maxsize=len(DATASET_NAMES))
def _builtin_default_shape(name: str) -> tuple[int, int]:
    X, _ = load_builtin(name)
    return int(X.shape[0]), int(X.shape[1])


# ---------------------------------------------------------------------------------------------- the spec


class Decay(StrictModel):
    """Learning-rate decay per epoch (off by default); see ``trainer.schedules``."""

    name: Literal["none", "inverse_time", "fixed_interval"] = "none"
    decay_rate: float = Field(default=1.0, ge=0)
    time_interval: Int = Field(default=1000, ge=1)


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


class TrainingSpec(StrictModel):
    """What to train: optimizer, data, network and schedule. Defaults reproduce the seed's Adam run."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"examples": [SPEC_EXAMPLES["adam"]["value"]]},
    )

    optimizer: Optimizer = Field(default_factory=Adam)
    dataset: Dataset = Field(default_factory=BuiltinDataset)
    layers: list[Annotated[Int, Field(ge=1)]] = Field(
        default_factory=lambda: [5, 2], min_length=1, description="Hidden layer sizes."
    )
    mini_batch_size: Annotated[Int, Field(ge=1)] | Literal["full"] = Field(
        default=64, description='Examples per step; "full" is batch gradient descent.'
    )
    epochs: Int = Field(default=10000, ge=1)
    record_every: Int = Field(default=100, ge=1, description="A cost point every this many epochs.")
    seed: Int = Field(default=10, ge=0, le=MAX_SEED, description="Shuffle seed; epoch k uses seed + k.")
    init_seed: Int = Field(default=3, ge=0, le=MAX_SEED, description="He initialisation seed.")
    decay: Decay = Field(default_factory=Decay)
    validation_fraction: float = Field(default=0.0, ge=0, lt=1, description="Share held out for validation.")

    def to_train_config(self) -> TrainConfig:
        """The trainer's plain config for this spec (the dataset is loaded separately)."""
        return TrainConfig(
            layers=tuple(self.layers),
            optimizer=OptimizerConfig(**self.optimizer.model_dump()),
            decay=DecayConfig(**self.decay.model_dump()),
            mini_batch_size=None if self.mini_batch_size == "full" else self.mini_batch_size,
            epochs=self.epochs,
            record_every=self.record_every,
            seed=self.seed,
            init_seed=self.init_seed,
            validation_fraction=self.validation_fraction,
        )


def check_caps(spec: TrainingSpec, settings: Settings, n_features: int, n_examples: int) -> None:
    """Refuse a job over the configured caps; each refusal names the field and gives the cap.

    Checked: hidden layers ≤ ``max_layers``, every width ≤ ``max_width``, inline numbers ≤
    ``max_inline_values``, epochs × examples ≤ ``max_epoch_examples``, parameters (from
    ``trainer.estimate``) ≤ ``max_parameters``, and a validation split that leaves training examples.
    """
    if len(spec.layers) > settings.max_layers:
        raise SpecRejected(
            ("layers",), f"{len(spec.layers)} hidden layers is over the cap of {settings.max_layers}"
        )
    for i, width in enumerate(spec.layers):
        if width > settings.max_width:
            raise SpecRejected(("layers", i), f"width {width} is over the cap of {settings.max_width}")
    if isinstance(spec.dataset, InlineDataset):
        values = n_features * n_examples + n_examples
        if values > settings.max_inline_values:
            raise SpecRejected(
                ("dataset", "X"),
                f"inline data has {values} numbers, over the cap of {settings.max_inline_values}",
            )
    if spec.epochs * n_examples > settings.max_epoch_examples:
        raise SpecRejected(
            ("epochs",),
            f"epochs × examples = {spec.epochs} × {n_examples} = {spec.epochs * n_examples} is over the cap "
            f"of {settings.max_epoch_examples}",
        )
    parameters = estimate(spec.to_train_config(), n_features, n_examples).parameters
    if parameters > settings.max_parameters:
        raise SpecRejected(
            ("layers",), f"the network has {parameters} parameters, over the cap of {settings.max_parameters}"
        )
    if spec.validation_fraction > 0 and round(spec.validation_fraction * n_examples) >= n_examples:
        raise SpecRejected(
            ("validation_fraction",),
            f"holding out {spec.validation_fraction} of {n_examples} examples leaves none to train on",
        )
