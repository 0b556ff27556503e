"""A job's training data, wherever it comes from: generated, inline in the spec, or uploaded."""

from __future__ import annotations

import numpy as np

from core.errors import SpecRejected
from core.spec import BuiltinDataset, InlineDataset, TrainingSpec
from core.store import JobStore
from trainer.errors import DataError


def training_data(store: JobStore, spec: TrainingSpec) -> tuple[np.ndarray, np.ndarray]:
    """X (n_x, m) and Y (1, m) of the spec's data; DataError if an uploaded set is gone. Loading an
    uploaded set restarts its TTL."""
    if isinstance(spec.dataset, BuiltinDataset | InlineDataset):
        return spec.dataset.arrays()
    arrays = store.dataset_arrays(spec.dataset.id)
    if arrays is None:
        raise DataError(f"dataset {spec.dataset.id} does not exist (any more)")
    store.touch_dataset(spec.dataset.id)
    return arrays


def data_shape(store: JobStore, spec: TrainingSpec, owner: str) -> tuple[int, int]:
    """``(n_features, n_examples)`` of the spec's data without loading it; an uploaded set must be the
    owner's (else SpecRejected naming ``dataset.id``), and a job submitted on it restarts its TTL."""
    if isinstance(spec.dataset, BuiltinDataset | InlineDataset):
        return spec.dataset.shape()
    record = store.get_dataset(spec.dataset.id, owner=owner)
    if record is None:
        raise SpecRejected(("dataset", "id"), f"no dataset with id {spec.dataset.id!r}; upload it first")
    store.touch_dataset(spec.dataset.id)
    return record.n_features, record.n_examples
