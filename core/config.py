"""Settings shared by the API and the workers, read from the environment (pydantic-settings).

Every variable is ``DESCENT_<FIELD>`` (for example ``DESCENT_QUEUE_NAME``), except ``REDIS_URL`` and
``API_KEYS``, which are read under those plain names too.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Cap on an uploaded dataset file (413 over it)."
    )
    max_dataset_values: int = Field(
        default=5_000_000,
        ge=2,
        description="Cap on the numbers in an uploaded dataset (features and labels; 413 over it), known "
        "before it is loaded: a .npy's or .npz member's header, a CSV's commas and line breaks.",
    )
    max_features: int = Field(
        default=20_000, ge=1, description="Cap on an uploaded dataset's features (413 over it)."
    )
    upload_parsers: int = Field(
        default=2,
        ge=1,
        description="Uploads parsed at once, each in a parser process of the API's (off the event loop "
        "and its GIL); the others wait up to upload_wait_seconds, then get a 503.",
    )
    upload_wait_seconds: float = Field(
        default=10.0, gt=0, description="How long an upload waits for a free parser before a 503."
    )
    upload_parse_seconds: float = Field(
        default=60.0, gt=0, description="A parser taking longer than this on one file is killed (413)."
    )
    rate_limit_uploads_per_minute: int = Field(
        default=10, ge=0, description="Dataset uploads per owner per minute (fixed window); 0: no limit."
    )
    dataset_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=1,
        description="How long an uploaded dataset is kept after its upload or the last job that used it.",
    )
    max_datasets_per_owner: int = Field(
        default=50, ge=1, description="Datasets one owner may keep at once (413 over it)."
    )
    max_dataset_bytes_per_owner: int = Field(
        default=512 * 1024 * 1024,
        ge=1,
        description="Bytes of stored datasets (float64 .npz) one owner may keep at once (413 over it).",
    )
    dataset_summary_features: int = Field(
        default=100,
        ge=0,
        description="Features whose statistics a dataset's summary carries (the first ones); listings "
        "carry no per-feature statistics at all.",
    )
    redis_maxmemory_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=0,
        description="maxmemory of the embedded Redis of `descent serve` (and of the compose file's), with "
        "noeviction: at the cap Redis refuses writes (the API answers 507) instead of dropping data; 0: "
        "no cap.",
    )

    max_experiment_members: int = Field(
        default=256, ge=1, description="Cap on the members of one experiment (POST /experiments)."
    )
    max_experiment_epoch_examples: int = Field(
        default=1_000_000_000,
        ge=1,
        description="Cap on an experiment's total work: the sum over its members of epochs × examples.",
    )
    max_stack_members: int = Field(
        default=64,
        ge=1,
        description="Members a worker trains as one stack at most; a larger group is split across workers.",
    )

    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("API_KEYS", "DESCENT_API_KEYS"),
        description="Comma-separated API keys; unset or empty means no authentication (owner `public`). "
        "When set, every endpoint but /healthz, /readyz, /metrics, /docs and /openapi.json needs "
        "`Authorization: Bearer <key>`, and each key sees only the jobs and datasets it created.",
    )
    redis_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Connect and read timeout of the API's Redis client: with Redis down or stuck, a "
        "request is a 503 within about this long.",
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1,
        description="Cap on a JSON request body (413 before it is read); uploads have max_upload_bytes.",
    )
    max_refusals_per_minute: int = Field(
        default=30,
        ge=0,
        description="POST, PUT and PATCH requests of one client (its API key, or its address without keys) "
        "answered 400, 413, 415 or 422 in a minute; past it, each such request of its is a 429 (held 1 s) "
        "before its body is read, until the minute ends (counted per API process); 0: no limit.",
    )
    rate_limit_jobs_per_minute: int = Field(
        default=60, ge=0, description="Job submissions per owner per minute (fixed window); 0: no limit."
    )
    max_queued_jobs: int = Field(
        default=1000, ge=1, description="Submissions are refused (503, Retry-After) while this many wait."
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600, ge=1, description="How long an Idempotency-Key of POST /jobs is remembered."
    )
    heartbeat_seconds: float = Field(
        default=30.0,
        ge=2,
        description="A running job whose worker has not beaten for this long (workers beat every second) "
        "is lost: RQ retries it (it resumes from its checkpoint) or, after max_attempts lost workers, "
        "it fails.",
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts a job gets: when its worker is lost this many times it fails "
        "('worker lost N times; last seen at …'). Read by the API as it enqueues (RQ's Retry).",
    )
    checkpoint_seconds: float = Field(
        default=5.0, gt=0, description="How often a running job saves its trainer state, for a resume."
    )
    max_job_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Cap on a job's estimated training time (a 422 over it, before it is queued) and on its "
        "wall-clock limit; the limit itself is derived from the job's size.",
    )
    max_step_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Cap on a job's estimated time of one training step (422 over it): cancel, checkpoints "
        "and a worker's shutdown are acted on between steps.",
    )
    max_job_memory_bytes: int = Field(
        default=2 * 1024**3,
        ge=1,
        description="Cap on a job's estimated peak memory in the worker (422 over it, naming both numbers); "
        "an experiment's stack is split so that each fits.",
    )
    max_active_jobs_per_owner: int = Field(
        default=512,
        ge=1,
        description="Jobs one owner may have queued or running at once, an experiment's members included "
        "(429 over it).",
    )
    min_job_seconds: float = Field(
        default=30.0, gt=0, description="Floor of a job's wall-clock limit (max_job_seconds wins if smaller)."
    )

    events_max_len: int = Field(
        default=10_000,
        ge=100,
        description="Events a job's stream keeps (about; the oldest are trimmed): a client resuming from "
        "an older id is told of the gap, and GET /jobs/{id}/costs has every point.",
    )
    events_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="An event stream sends a comment after this long without events."
    )
    events_max_seconds: float = Field(
        default=900.0,
        gt=0,
        description="An event stream is closed after this long (the client reconnects with Last-Event-ID).",
    )
    events_max_subscribers: int = Field(
        default=2000, ge=1, description="Open event streams one API process serves (503 over it)."
    )
    boundary_grid_max: int = Field(
        default=300,
        ge=10,
        le=2000,
        description="Grid points per axis of a decision boundary at most (the course's step is 0.01; a "
        "wider range gets a coarser step).",
    )
    boundary_max_points: int = Field(
        default=5000,
        ge=1,
        description="Training points drawn over a decision boundary at most (an even subset beyond).",
    )
    boundary_frames: int = Field(
        default=20,
        ge=0,
        description="Parameter snapshots a 2-feature job keeps over its training, for GET "
        "/jobs/{id}/boundary?epoch= (at epochs evenly spread from 1 to the last); 0: off.",
    )
    max_frame_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="Bytes of frames one job keeps at most (float32 parameters): a model with more "
        "parameters gets fewer frames, or none.",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text`, or `json`: one JSON object per line from the API and the workers, with "
        "`request_id` and `job_id` (core/logs.py).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The lowest level logged by the API and the workers."
    )
    metrics_enabled: bool = Field(
        default=True,
        description="Serve Prometheus metrics at GET /metrics (API keys do not guard it: see "
        "metrics_port to serve it on a port of its own instead).",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve /metrics on this port (bound to metrics_host by `descent serve`) instead of "
        "the API's port; unset: on the API's port.",
    )
    metrics_host: str = Field(default="127.0.0.1", description="Interface of metrics_port.")

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        """``JSON`` is read as ``json``."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: object) -> object:
        """An empty ``DESCENT_METRICS_PORT`` (the compose file's default) means unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        """``info`` is read as ``INFO``."""
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """``"k1,k2"`` → ``["k1", "k2"]`` (blanks dropped)."""
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
