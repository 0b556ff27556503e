"""``/jobs/{id}/boundary``: a 2-feature job's decision boundary, as an image or as JSON: the final model's
(a succeeded job), or the one of a frame taken during training (``?epoch=``, any job that has one)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Response

from core.boundary import decision_boundary
from core.data import training_data
from core.frames import frame_parameters
from core.plots import MEDIA_TYPES, boundary_plot
from core.spec import TrainingSpec
from core.statuses import FINISHED, SUCCEEDED
from core.store import JobRecord, JobStore, npz_to_arrays
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.errors import Conflict, Unprocessable
from service.openapi import BINARY
from service.routes.jobs import NOT_FOUND, find_job
from service.schemas import BoundaryPoints, BoundaryPublic, ErrorBody
from trainer.errors import DataError
from trainer.network import layer_sizes

router = APIRouter(prefix="/jobs", tags=["jobs"])

CACHE = {"Cache-Control": "private, max-age=3600"}  # a finished job's model and frames never change
NO_STORE = {"Cache-Control": "no-store"}  # a running job's frames grow
MAX_GRID = 2000
"""The largest ``?grid=`` (``boundary_grid_max``'s own bound)."""


@router.get(
    "/{job_id}/boundary",
    response_model=BoundaryPublic,
    responses={
        **NOT_FOUND,
        200: {
            "content": {media_type: {"schema": BINARY} for media_type in MEDIA_TYPES.values()},
            "description": "JSON, or the image with ?format=png or svg.",
        },
        409: {
            "model": ErrorBody,
            "description": "The job has not succeeded (without ?epoch=), has no frame at or before "
            "?epoch=, or its dataset is gone.",
        },
        422: {"model": ErrorBody, "description": "The model does not take exactly 2 features."},
    },
    summary="The decision boundary of a 2-feature model",
)
def get_boundary(
    job_id: str,
    response: Response,
    store: StoreDep,
    owner: OwnerDep,
    settings: SettingsDep,
    format: Annotated[
        Literal["json", "png", "svg"], Query(description="json (for a page to draw), png or svg.")
    ] = "json",
    grid: Annotated[
        int | None,
        Query(
            ge=10,
            le=MAX_GRID,
            description="Grid points per axis at most, for a smaller answer (a thumbnail); boundary_grid_max "
            "caps it.",
        ),
    ] = None,
    epoch: Annotated[
        int | None,
        Query(
            ge=1,
            description="Draw the boundary as it was during training: from the frame at the largest "
            "recorded epoch at or before this one (see `frames`), for a job in any status, running too.",
        ),
    ] = None,
) -> BoundaryPublic | Response:
    """The course's ``plot_decision_boundary``: the model's output over a grid covering the data (each
    feature's range ± 1, step 0.01 or coarser past ``boundary_grid_max`` points per axis), the predicted
    label's regions filled, and the job's data points over them coloured by label. Without ``epoch`` the
    final model's (a succeeded job); with it, the frame's at the largest recorded epoch ≤ ``epoch``."""
    record = find_job(store, job_id, owner)
    spec = TrainingSpec.model_validate(record.spec)
    frames = store.frame_epochs(job_id)
    shown, parameters = _parameters(store, record, spec, epoch, frames)
    try:
        X, Y = training_data(store, spec)
    except DataError as exc:
        raise Conflict(f"the job's data cannot be drawn: {exc}") from exc
    headers = CACHE if record.status in FINISHED else NO_STORE
    grid_max = min(grid or settings.boundary_grid_max, settings.boundary_grid_max)
    boundary = decision_boundary(parameters, X, Y, grid_max, settings.boundary_max_points)
    if format != "json":
        title = f"Decision boundary · {spec.optimizer.name} · {job_id[:8]}"
        if epoch is not None:
            title += f" · epoch {shown}"
        image = boundary_plot(boundary, title=title, fmt=format)
        return Response(image, media_type=MEDIA_TYPES[format], headers=headers)
    response.headers.update(headers)
    return BoundaryPublic(
        job_id=job_id,
        x=boundary.x.round(6).tolist(),
        y=boundary.y.round(6).tolist(),
        probabilities=np.round(boundary.probabilities, 4).tolist(),
        points=BoundaryPoints(
            x=boundary.points[0].tolist(),
            y=boundary.points[1].tolist(),
            label=boundary.labels.astype(int).tolist(),
        ),
        epoch=shown,
        frames=frames,
    )


def _parameters(
    store: JobStore, record: JobRecord, spec: TrainingSpec, epoch: int | None, frames: list[int]
) -> tuple[int, dict[str, np.ndarray]]:
    """The epoch and the parameters to draw: the final model's (its epochs completed) without ``epoch``,
    else the frame's at the largest recorded epoch ≤ ``epoch`` (frames are kept for 2 features only, so
    its layer sizes are ``(2, *spec.layers, 1)``); a Conflict when there is none, a 422 for a model that
    does not take 2 features."""
    if epoch is None:
        model = store.get_model_bytes(record.id) if record.status == SUCCEEDED else None
        if model is None:
            message = f"job {record.id} is {record.status}: only a succeeded job has a decision boundary"
            raise Conflict(message)
        return record.epoch, _two_features(npz_to_arrays(model))
    found = store.get_frame(record.id, epoch, frames)
    if found is not None:
        shown, data = found
        return shown, frame_parameters(data, layer_sizes(2, spec.layers))
    model = store.get_model_bytes(record.id) if not frames and record.status == SUCCEEDED else None
    if model is not None:  # a model of another width has no frames: a 422 says why
        _two_features(npz_to_arrays(model))
    recorded = f"its first is at epoch {frames[0]}" if frames else "it has none yet (2-feature models only)"
    raise Conflict(f"job {record.id} has no decision boundary frame at or before epoch {epoch}: {recorded}")


def _two_features(parameters: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``parameters``, if their model takes exactly 2 features; else a 422 that says so."""
    n_features = int(parameters["W1"].shape[1])
    if n_features != 2:
        message = f"the model takes {n_features} features: a decision boundary is drawn for 2"
        raise Unprocessable(message, loc=("path", "job_id"))
    return parameters
