"""An experiment's comparison table and status, from its members' records and cost curves.

A row per member: its label, the values it varies, its status, ``accuracy`` (and ``validation_accuracy``
when the spec held examples out), ``final_cost``, the curve's ``roughness`` and ``shape``
(``core.experiments.curves``), ``epochs_to_converge`` and the training ``seconds``. Rows sort by any of
those columns (``-`` first for descending); members without a value sort last either way.

The experiment's status: ``queued`` while no member started, ``running`` while some member has not
finished, then ``succeeded`` if any member succeeded, ``canceled`` if every member was canceled, else
``failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.experiments.curves import epochs_to_converge, roughness, shape
from core.statuses import CANCELED, FAILED, FINISHED, QUEUED, RUNNING, SUCCEEDED
from core.store import JobRecord, MemberRef


@dataclass(frozen=True)
class Row:
    """One member's line of the comparison."""

    job_id: str
    label: str
    params: dict[str, Any]
    status: str
    accuracy: float | None
    validation_accuracy: float | None
    final_cost: float | None
    roughness: float | None
    shape: str | None
    epochs_to_converge: int | None
    seconds: float | None


def row(member: MemberRef, record: JobRecord, points: Sequence[tuple[int, float]]) -> Row:
    """The row of ``member`` (its job ``record`` and recorded ``points``)."""
    result = record.result or {}
    curve = roughness([cost for _, cost in points])
    return Row(
        job_id=member.job_id,
        label=member.label,
        params=member.params,
        status=record.status,
        accuracy=result.get("accuracy"),
        validation_accuracy=result.get("validation_accuracy"),
        final_cost=result.get("final_cost", points[-1][1] if points else None),
        roughness=curve,
        shape=shape(curve) if len(points) >= 2 else None,
        epochs_to_converge=epochs_to_converge(points) if record.status == SUCCEEDED else None,
        seconds=result.get("seconds"),
    )


def sorted_rows(rows: list[Row], key: str) -> list[Row]:
    """``rows`` by column ``key`` (``-key`` descending), rows without a value last."""
    name = key.lstrip("-")
    present = [r for r in rows if getattr(r, name) is not None]
    missing = [r for r in rows if getattr(r, name) is None]
    return sorted(present, key=lambda r: getattr(r, name), reverse=key.startswith("-")) + missing


def experiment_status(statuses: Sequence[str]) -> str:
    """The experiment's status from its members' (see the module docstring)."""
    if all(status == QUEUED for status in statuses):
        return QUEUED
    if any(status not in FINISHED for status in statuses):
        return RUNNING
    if SUCCEEDED in statuses:
        return SUCCEEDED
    return CANCELED if all(status == CANCELED for status in statuses) else FAILED
