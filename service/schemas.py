"""Response models (and the predict request): what clients see, separate from the stored records.

The request model of ``POST /jobs`` is ``core.spec.TrainingSpec``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.datafiles import DataFormat
from core.spec import BuiltinDataset, TrainingSpec
from core.spec.datasets import UploadedDataset
from core.statuses import JobStatus
from core.store import DatasetRecord, JobRecord

MAX_OFFSET = 10**9
"""Largest ``offset`` a listing accepts."""
MAX_CHART_POINTS = 10_000
"""Largest ``max_points`` of a downsampled cost history."""
MAX_EPOCH = 2**53
"""Largest ``since`` of a costs query (epochs are exact as Redis scores up to here)."""


def utc_time(seconds: float | None) -> datetime | None:
    """Unix seconds as an aware UTC datetime (None stays None)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


class Progress(BaseModel):
    """Epochs completed of the epochs asked for."""

    epoch: int
    epochs: int


class JobResult(BaseModel):
    """A succeeded job's outcome."""

    accuracy: float = Field(description="Accuracy on the training examples.")
    validation_accuracy: float | None = Field(None, description="When validation_fraction > 0.")
    final_cost: float | None = None
    seconds: float | None = Field(None, description="Training time in the worker.")
    epochs_completed: int | None = None
    steps: int | None = None


class JobPublic(BaseModel):
    """A job as clients see it."""

    id: str
    status: JobStatus
    spec: TrainingSpec
    progress: Progress
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime
    result: JobResult | None = None
    error: str | None = Field(None, description="Why a failed job failed.")
    cancel_requested: bool = False
    timeout_seconds: float | None = Field(
        None,
        description="The job's time limit: seconds of training (counted across attempts) before it fails "
        "as timed out, derived from the job's size; null until a worker starts the job.",
    )
    workers_lost: int | None = Field(
        None,
        description="How many times the worker running the job was lost (the job was resumed from its "
        "checkpoint, or failed once this reached the attempts cap); null while none was.",
    )
    experiment_id: str | None = Field(None, description="The experiment the job is a member of, if any.")
    label: str | None = Field(None, description="An experiment member's label: what it varies.")

    @classmethod
    def spec_of(cls, spec: dict) -> TrainingSpec:
        """The record's spec as this model shows it."""
        return TrainingSpec.model_validate(spec)

    @classmethod
    def of(cls, record: JobRecord) -> JobPublic:
        return cls(
            id=record.id,
            status=record.status,  # type: ignore[arg-type]
            spec=cls.spec_of(record.spec),
            progress=Progress(epoch=record.epoch, epochs=record.epochs),
            created_at=utc_time(record.created_at),  # type: ignore[arg-type]
            started_at=utc_time(record.started_at),
            finished_at=utc_time(record.finished_at),
            updated_at=utc_time(record.updated_at),  # type: ignore[arg-type]
            result=None if record.result is None else JobResult.model_validate(record.result),
            error=record.error,
            cancel_requested=record.cancel_requested,
            timeout_seconds=record.timeout_seconds,
            workers_lost=record.workers_lost,
            experiment_id=record.experiment_id,
            label=record.label,
        )


class InlineShape(BaseModel):
    n_features: int
    n_examples: int


class InlineSummary(BaseModel):
    """Inline data in a listing: its shape; ``GET /jobs/{id}`` has the numbers."""

    model_config = ConfigDict(extra="forbid")

    inline: InlineShape


class SpecSummary(TrainingSpec):
    """A spec in a listing (``core.spec.summary``): inline data is shown as its shape."""

    dataset: BuiltinDataset | UploadedDataset | InlineSummary  # type: ignore[assignment]


class JobSummary(JobPublic):
    """A job in a listing: its spec summarized (``GET /jobs/{id}`` has the full spec)."""

    spec: SpecSummary  # type: ignore[assignment]

    @classmethod
    def spec_of(cls, spec: dict) -> SpecSummary:
        return SpecSummary.model_validate(spec)


class JobList(BaseModel):
    """One page of jobs, newest first."""

    items: list[JobSummary]
    total: int = Field(description="Jobs matching the filter, all pages.")
    offset: int
    limit: int


class CostPoint(BaseModel):
    """The mean cost over epoch ``epoch`` (epochs count from 1); null if it was not finite."""

    epoch: int
    cost: float | None


class CostsPage(BaseModel):
    """Cost points recorded after epoch ``since``, and the job's status so a poller knows when to stop."""

    job_id: str
    status: JobStatus
    progress: Progress
    since: int
    points: list[CostPoint]
    next_since: int = Field(description="Pass as ?since= to get only newer points.")


class ModelPublic(BaseModel):
    """A trained network: ``W{l}`` has shape (n[l], n[l-1]), ``b{l}`` (n[l], 1)."""

    job_id: str
    layer_sizes: list[int] = Field(description="n[0] (features), hidden sizes…, 1")
    parameters: dict[str, list[list[float]]]


Matrix = Annotated[list[list[float]], Field(min_length=1)]
"""A non-empty list of rows of numbers."""


def _absent_not_null(schema: dict) -> None:
    """An optional field that may be left out but not sent as null: no ``"default": null`` either."""
    schema.pop("default", None)


class PredictRequest(BaseModel):
    """The examples to predict, either way round (exactly one of the two fields):

    * ``X``: the training layout, features × examples (``X[i][j]`` is feature i of example j);
    * ``rows``: one example per row, as a CSV holds them (``rows[j][i]`` is feature i of example j).
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={
            "minProperties": 1,
            "maxProperties": 1,
            "examples": [{"X": [[0.5, -1.0], [0.25, 0.8]]}, {"rows": [[0.5, 0.25], [-1.0, 0.8]]}],
        },
    )

    # Absent is None (pydantic does not validate defaults); a sent null is refused like any non-list.
    X: Matrix = Field(
        None,  # type: ignore[assignment]
        description="Features × examples: X[i][j] is feature i of example j.",
        json_schema_extra=_absent_not_null,
    )
    rows: Matrix = Field(
        None,  # type: ignore[assignment]
        description="One example per row: rows[j][i] is feature i of example j.",
        json_schema_extra=_absent_not_null,
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.X is None) == (self.rows is None):
            raise ValueError('send exactly one of "X" (features × examples) and "rows" (one example per row)')
        return self


class Prediction(BaseModel):
    """One probability and one 0/1 label (probability > 0.5) per example."""

    probabilities: list[float]
    labels: list[int]


class DatasetSummary(BaseModel):
    """Class counts, and statistics of the first ``features_summarized`` features (at most the server's
    ``dataset_summary_features``)."""

    positives: int
    negatives: int
    features_summarized: int = Field(description="How many features (the first ones) the lists cover.")
    feature_mean: list[float]
    feature_std: list[float]
    feature_min: list[float]
    feature_max: list[float]


class DatasetBrief(BaseModel):
    """An uploaded dataset as a listing shows it (no summary); train with ``{"dataset": {"id": ...}}``."""

    id: str
    filename: str
    format: DataFormat
    n_features: int
    n_examples: int
    bytes: int = Field(description="Bytes it takes in the store (float64), counted against the quota.")
    created_at: datetime
    expires_at: datetime | None = Field(
        description="When it is deleted unless a job uses it before (each use restarts its TTL)."
    )

    @classmethod
    def fields_of(cls, record: DatasetRecord) -> dict[str, Any]:
        return {
            "id": record.id,
            "filename": record.filename,
            "format": record.format,
            "n_features": record.n_features,
            "n_examples": record.n_examples,
            "bytes": record.bytes,
            "created_at": utc_time(record.created_at),
            "expires_at": utc_time(record.expires_at),
        }

    @classmethod
    def of(cls, record: DatasetRecord) -> DatasetBrief:
        return cls(**cls.fields_of(record))


class DatasetPublic(DatasetBrief):
    """An uploaded dataset with its summary; train on it with ``{"dataset": {"id": ...}}``."""

    summary: DatasetSummary

    @classmethod
    def of(cls, record: DatasetRecord) -> DatasetPublic:
        summary = dict(record.summary or {})
        summary.setdefault("features_summarized", len(summary.get("feature_mean", [])))
        return cls(**cls.fields_of(record), summary=DatasetSummary.model_validate(summary))


class DatasetList(BaseModel):
    """One page of datasets, newest first; ``total`` counts the owner's live datasets."""

    items: list[DatasetBrief]
    total: int
    offset: int
    limit: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Ready when Redis answers and at least one worker listens on the queue."""

    status: Literal["ready", "unavailable"]
    redis: bool
    workers: int
    detail: str | None = Field(None, description="Why the service is not ready.")


class FieldError(BaseModel):
    """One problem with the request: where it is and what is wrong."""

    loc: list[str | int] = Field(
        description='Where: "body", "query", "path" or "header", then the field names and list indexes.',
        examples=[["body", "optimizer", "beta1"]],
    )
    msg: str = Field(examples=["Input should be less than 1"])
    type: str = Field(description="A stable code for the kind of problem.", examples=["less_than"])


class ErrorBody(BaseModel):
    """Every error: ``detail`` is the list of :class:`FieldError` for a 422, one message otherwise."""

    detail: str | list[FieldError]


class BoundaryPoints(BaseModel):
    """The job's data points (at most ``boundary_max_points``, an even subset beyond) and their labels."""

    x: list[float] = Field(description="Feature 1 of each point.")
    y: list[float] = Field(description="Feature 2 of each point.")
    label: list[int]


class BoundaryPublic(BaseModel):
    """A 2-feature model's output over a grid: ``probabilities[i][j]`` is P(label 1) at ``(x[j], y[i])``
    (the predicted label is 1 where it is above 0.5), rounded to 4 decimals."""

    job_id: str
    x: list[float] = Field(description="The grid's feature-1 values, ascending.")
    y: list[float] = Field(description="The grid's feature-2 values, ascending.")
    probabilities: list[list[float]] = Field(description="One row per y value, one column per x value.")
    points: BoundaryPoints
    epoch: int | None = Field(
        description="The epoch of the parameters drawn: the frame's with ?epoch=, else the job's epochs "
        "completed.",
        examples=[500],
    )
    frames: list[int] = Field(
        description="The epochs the job has frames of (for ?epoch=), ascending; empty if none.",
        examples=[[1, 527, 1053, 10000]],
    )


class PointEvent(BaseModel):
    """``event: point``: a recorded cost (null if it was not finite)."""

    epoch: int
    cost: float | None


class StatusEvent(BaseModel):
    """``event: status``: the job's new status, with the error of a failed job or a succeeded job's result."""

    status: JobStatus
    error: str | None = None
    result: JobResult | None = None


class GapEvent(BaseModel):
    """``event: gap``: events ``first``…``last`` were trimmed before this client could read them."""

    first: int
    last: int
    detail: str


EVENT_DATA: dict[str, type[BaseModel]] = {
    "point": PointEvent,
    "progress": Progress,
    "status": StatusEvent,
    "gap": GapEvent,
}
"""Each SSE event of ``GET /jobs/{id}/events`` and the model of its JSON ``data``."""
