"""What every spec model shares: strict types, unknown fields refused, ints that take ``5.0``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

MAX_SEED = 2**31 - 1


def _integral_float_to_int(value: Any) -> Any:
    """``5.0`` → ``5``: JSON Schema counts a number with no fractional part as an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Int = Annotated[int, BeforeValidator(_integral_float_to_int)]
"""A strict int ("5", true and 5.5 are refused) that also takes 5.0."""


class StrictModel(BaseModel):
    """Base of every spec model: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
