"""What clients see of experiments: the experiment, its members, its table, its members' costs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from core.experiments.table import Row
from core.spec import TrainingSpec
from core.statuses import JobStatus
from core.store import ExperimentRecord, JobRecord, MemberRef
from service.schemas import CostPoint, JobResult, Progress


class MemberPublic(BaseModel):
    """One member: an ordinary job (``/jobs/{job_id}`` works on it) with its label."""

    job_id: str
    label: str = Field(description='What the member varies, e.g. "adam lr=0.007".')
    params: dict[str, Any] = Field(description="The values it varies, by dotted spec path.")
    spec: TrainingSpec
    status: JobStatus
    progress: Progress
    result: JobResult | None = None
    error: str | None = None

    @classmethod
    def of(cls, member: MemberRef, record: JobRecord) -> MemberPublic:
        return cls(
            job_id=member.job_id,
            label=member.label,
            params=member.params,
            spec=TrainingSpec.model_validate(record.spec),
            status=record.status,  # type: ignore[arg-type]
            progress=Progress(epoch=record.epoch, epochs=record.epochs),
            result=None if record.result is None else JobResult.model_validate(record.result),
            error=record.error,
        )


class TableRow(BaseModel):
    """One member's line of the comparison (see ``core.experiments.curves`` for the curve figures)."""

    job_id: str
    label: str
    params: dict[str, Any]
    status: JobStatus
    accuracy: float | None
    validation_accuracy: float | None
    final_cost: float | None
    roughness: float | None = Field(
        description="Total variation of the recorded cost over its net decrease: 1.0 for a curve that only "
        "goes down; null for a curve that did not decrease."
    )
    shape: str | None = Field(description='"smooth" (roughness ≤ 1.1) or "oscillating".')
    epochs_to_converge: int | None = Field(
        description="The first recorded epoch within 1 % of the final cost."
    )
    seconds: float | None

    @classmethod
    def of(cls, row: Row) -> TableRow:
        return cls.model_validate(vars(row))


class ExperimentSummary(BaseModel):
    """An experiment in a listing."""

    id: str
    name: str
    status: JobStatus
    created_at: datetime
    counts: dict[str, int] = Field(description="Members by status.")


class ExperimentPublic(ExperimentSummary):
    """An experiment with its members and their comparison table."""

    members: list[MemberPublic]
    table: list[TableRow]

    @classmethod
    def of(cls, record: ExperimentRecord, status: str, members: list[MemberPublic], table: list[TableRow]):
        return cls(
            **_summary(record, status, [m.status for m in members]),
            members=members,
            table=table,
        )


def summary_of(record: ExperimentRecord, status: str, statuses: list[str]) -> ExperimentSummary:
    return ExperimentSummary(**_summary(record, status, statuses))


def _summary(record: ExperimentRecord, status: str, statuses: list[str]) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "status": status,
        "created_at": datetime.fromtimestamp(record.created_at, tz=UTC),
        "counts": {s: statuses.count(s) for s in sorted(set(statuses))},
    }


class ExperimentList(BaseModel):
    """One page of experiments, newest first."""

    items: list[ExperimentSummary]
    total: int
    offset: int
    limit: int


class MemberCosts(BaseModel):
    """A member's points after ``since``."""

    job_id: str
    label: str
    status: JobStatus
    progress: Progress
    points: list[CostPoint]
    next_since: int


class ExperimentCosts(BaseModel):
    """Every member's new points in one answer; poll again with ``?since=next_since``."""

    experiment_id: str
    status: JobStatus
    since: int
    members: list[MemberCosts]
    next_since: int = Field(
        description="The smallest of the members' next_since: pass it as ?since= so that no member's point "
        "is missed (a point seen twice has the same epoch and value)."
    )
