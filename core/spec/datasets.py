"""Where a job's data comes from: a builtin generator, an uploaded set (``id``) or inline arrays."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, Discriminator, Field, Tag, model_validator

from core.spec.base import INTEGRAL, Seed, StrictModel
from trainer.data import DATASET_NAMES, DatasetName, check_arrays, load_builtin
from trainer.errors import DataError


class BuiltinDataset(StrictModel):
    """A generated set; unset fields take the generator's defaults (the seed's moons)."""

    name: DatasetName = "moons"
    n_samples: Annotated[int, Field(ge=2, le=1_000_000), INTEGRAL] | None = None
    noise: float | None = Field(default=None, ge=0, le=10)
    seed: Seed | None = None

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
    Annotated[UploadedDataset, Tag("uploaded")]
    | Annotated[InlineDataset, Tag("inline")]
    | Annotated[BuiltinDataset, Tag("builtin")],
    Discriminator(_dataset_kind),
]
"""The most specific first: the schema's ``oneOf`` lists them in this order, and a generated client that
tries each in turn would take any object for a builtin (all of whose fields are optional)."""


@lru_cache(maxsize=len(DATASET_NAMES))
def _builtin_default_shape(name: str) -> tuple[int, int]:
    X, _ = load_builtin(name)
    return int(X.shape[0]), int(X.shape[1])
