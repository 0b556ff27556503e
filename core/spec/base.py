"""What every spec model shares: strict types, unknown fields refused, ints that take ``5.0``.

Bounds go *inside* the ``Annotated`` before the validator (``Annotated[int, Field(ge=1), INTEGRAL]``):
pydantic then puts them on the integer itself, so the JSON Schema says ``minimum`` (a ``Field(ge=…)``
wrapped around an ``Annotated`` that already carries a ``BeforeValidator`` comes out as a non-standard
``ge`` keyword, and its errors name pydantic's internal validator in ``loc``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

MAX_SEED = 2**31 - 1


def _integral_float_to_int(value: Any) -> Any:
    """``5.0`` → ``5``: JSON Schema counts a number with no fractional part as an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


INTEGRAL = BeforeValidator(_integral_float_to_int)
"""Put last in an ``Annotated`` int: takes ``5.0`` as ``5``."""

Int = Annotated[int, INTEGRAL]
"""A strict int ("5", true and 5.5 are refused) that also takes 5.0."""
PositiveInt = Annotated[int, Field(ge=1), INTEGRAL]
"""An :data:`Int` ≥ 1."""
Seed = Annotated[int, Field(ge=0, le=MAX_SEED), INTEGRAL]
"""An :data:`Int` in ``[0, 2**31 - 1]``."""

FULL_BATCH = "full"
FullBatch = Annotated[Literal["full"], WithJsonSchema({"type": "string", "enum": [FULL_BATCH]})]
"""The string ``"full"``, as a one-value enum (generators try an enum branch of a union, not a ``const``)."""


def _one_error(value: Any, handler: Any) -> Any:
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError("mini_batch_size", 'Input should be a whole number ≥ 1 or "full"') from None


MiniBatchSize = Annotated[PositiveInt | FullBatch, WrapValidator(_one_error)]
"""Examples per step: an :data:`PositiveInt`, or ``"full"`` for the whole set. A bad value is one error
at the field itself, not one per branch of the union."""


class StrictModel(BaseModel):
    """Base of every spec model: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
