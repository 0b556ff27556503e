"""The body of ``POST /experiments``: a base spec and the ways its members differ from it.

Every field is optional. ``base`` is a full ``TrainingSpec`` (the seed's job by default). The members are
the product of ``variants`` (partial specs, each an override of ``base``), ``grid`` (dotted spec paths to
lists of values: their cartesian product) and ``random`` (``n`` draws from a seeded search space), in that
order; a part that is absent contributes one empty override. With none of the three, the experiment is the
course's §5 comparison: gd, momentum and Adam on ``base``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from core.spec import TrainingSpec
from core.spec.base import MAX_SEED, StrictModel

COURSE_COMPARISON: tuple[dict[str, Any], ...] = tuple(
    {"optimizer": {"name": name}} for name in ("gd", "momentum", "adam")
)
"""The course's §5: the same job trained with gd, momentum and Adam."""

MAX_GRID_VALUES = 256
"""Values one grid path may list (the member cap bounds the product)."""


Bounds = Annotated[list[float], Field(min_length=2, max_length=2, description="[low, high]")]


class LogUniform(StrictModel):
    """``exp(uniform(log(low), log(high)))``: for learning rates and other scales (low, high > 0)."""

    log_uniform: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=2, max_length=2)]


class Uniform(StrictModel):
    """``uniform(low, high)``."""

    uniform: Bounds


class IntUniform(StrictModel):
    """An integer drawn uniformly from ``[low, high]``, both included."""

    int_uniform: Annotated[list[int], Field(min_length=2, max_length=2)]


class Choice(StrictModel):
    """One of the listed values, each as likely."""

    choice: list[Any] = Field(min_length=1, max_length=MAX_GRID_VALUES)


def _distribution_kind(value: Any) -> str | None:
    """Which distribution a raw value is, by its one key."""
    keys = value.keys() if isinstance(value, dict) else vars(value) if isinstance(value, BaseModel) else ()
    return next((key for key in ("log_uniform", "uniform", "int_uniform", "choice") if key in keys), None)


Distribution = Annotated[
    Annotated[LogUniform, Tag("log_uniform")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[IntUniform, Tag("int_uniform")]
    | Annotated[Choice, Tag("choice")],
    Discriminator(
        _distribution_kind,
        custom_error_type="distribution",
        custom_error_message="a distribution is one of {log_uniform: [low, high]}, {uniform: [low, high]}, "
        "{int_uniform: [low, high]}, {choice: [values]}",
    ),
]


class RandomSearch(StrictModel):
    """``n`` members drawn from ``space`` with ``np.random.default_rng(seed)``, path after path in the order
    given, member after member: the same body always gives the same members."""

    n: int = Field(ge=1, le=1024, description="How many members to draw.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    space: dict[str, Distribution] = Field(min_length=1, description="Dotted spec path → distribution.")


class ExperimentCreate(BaseModel):
    """A comparison or a sweep: ``base`` and how its members differ from it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {},
                {
                    "name": "learning rates",
                    "base": {"optimizer": {"name": "adam"}},
                    "grid": {"optimizer.learning_rate": [0.0001, 0.0007, 0.007, 0.07]},
                },
            ]
        },
    )

    name: str = Field(default="", max_length=200, description="A name for people; not unique.")
    base: TrainingSpec = Field(default_factory=TrainingSpec, description="The spec every member starts from.")
    variants: list[dict[str, Any]] | None = Field(
        default=None, max_length=1024, description='Overrides of base, e.g. {"optimizer": {"name": "gd"}}.'
    )
    grid: dict[str, list[Any]] | None = Field(
        default=None, description="Dotted path → values; the members are their cartesian product."
    )
    random: RandomSearch | None = None
