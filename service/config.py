"""Settings shared by the API and the workers, read from the environment (pydantic-settings).

Every variable is ``DESCENT_<FIELD>`` (for example ``DESCENT_QUEUE_NAME``), except ``REDIS_URL`` and
``API_KEYS``, which are read under those plain names too.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One place for every knob of the service; defaults suit a laptop."""

    model_config = SettingsConfigDict(env_prefix="DESCENT_", env_file=".env", extra="ignore")

    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "DESCENT_REDIS_URL"),
        description="redis:// or rediss:// URL; unset means `descent serve` starts an embedded Redis.",
    )
    queue_name: str = "descent"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0)
    data_dir: Path = Field(default=Path(".descent"), description="Where the embedded Redis keeps its data.")

    result_ttl_seconds: int = Field(
        default=7 * 24 * 3600, ge=1, description="How long finished jobs are kept (seconds)."
    )
    max_layers: int = Field(default=10, ge=1)
    max_width: int = Field(default=1024, ge=1)
    max_parameters: int = Field(default=2_000_000, ge=1)
    max_epoch_examples: int = Field(default=50_000_000, ge=1, description="Cap on epochs × examples.")
    max_inline_values: int = Field(default=1_000_000, ge=1, description="Cap on numbers in inline data.")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
