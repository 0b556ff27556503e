"""A spec as a listing shows it: inline data's numbers replaced by their shape.

``GET /jobs`` shows each job's spec this way, so a page of jobs that carry inline data costs a few
hundred bytes a job, not the data (``GET /jobs/{id}`` has the full spec).
"""

from __future__ import annotations

from typing import Any

from core.spec.datasets import InlineDataset
from core.spec.model import TrainingSpec


def summary_of(spec: TrainingSpec) -> dict[str, Any]:
    """:func:`spec_summary` of a spec model, without dumping the inline numbers first."""
    if not isinstance(spec.dataset, InlineDataset):
        return spec.model_dump(mode="json")
    n_features, n_examples = spec.dataset.shape()
    inline = {"inline": {"n_features": n_features, "n_examples": n_examples}}
    return {**spec.model_dump(mode="json", exclude={"dataset"}), "dataset": inline}


def spec_summary(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec (as its JSON object) with an inline dataset ``{"X", "Y"}`` replaced by
    ``{"inline": {"n_features", "n_examples"}}``; any other spec is returned as it is."""
    dataset = spec.get("dataset")
    if not isinstance(dataset, dict) or "X" not in dataset:
        return spec
    X, Y = dataset["X"], dataset.get("Y") or []
    shape = {"n_features": len(X), "n_examples": len(Y)}
    return {**spec, "dataset": {"inline": shape}}
