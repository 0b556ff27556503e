"""``/jobs/{id}/boundary``: a succeeded 2-feature job's decision boundary, as an image or as JSON."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Response

from core.boundary import decision_boundary
from core.data import training_data
from core.plots import MEDIA_TYPES, boundary_plot
from core.spec import TrainingSpec
from core.statuses import SUCCEEDED
from core.store import npz_to_arrays
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.errors import Conflict, Unprocessable
from service.openapi import BINARY
from service.routes.jobs import NOT_FOUND, find_job
from service.schemas import BoundaryPoints, BoundaryPublic, ErrorBody
from trainer.errors import DataError

router = APIRouter(prefix="/jobs", tags=["jobs"])

CACHE = {"Cache-Control": "private, max-age=3600"}  # a succeeded job's model never changes
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
        409: {"model": ErrorBody, "description": "The job has not succeeded, or its dataset is gone."},
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
) -> BoundaryPublic | Response:
    """The course's ``plot_decision_boundary``: the model's output over a grid covering the data (each
    feature's range ± 1, step 0.01 or coarser past ``boundary_grid_max`` points per axis), the predicted
    label's regions filled, and the job's data points over them coloured by label."""
    record = find_job(store, job_id, owner)
    data = store.get_model_bytes(job_id) if record.status == SUCCEEDED else None
    if data is None:
        raise Conflict(f"job {job_id} is {record.status}: only a succeeded job has a decision boundary")
    parameters = npz_to_arrays(data)
    n_features = int(parameters["W1"].shape[1])
    if n_features != 2:
        message = f"the model takes {n_features} features: a decision boundary is drawn for 2"
        raise Unprocessable(message, loc=("path", "job_id"))
    spec = TrainingSpec.model_validate(record.spec)
    try:
        X, Y = training_data(store, spec)
    except DataError as exc:
        raise Conflict(f"the job's data cannot be drawn: {exc}") from exc
    grid_max = min(grid or settings.boundary_grid_max, settings.boundary_grid_max)
    boundary = decision_boundary(parameters, X, Y, grid_max, settings.boundary_max_points)
    if format != "json":
        title = f"Decision boundary · {spec.optimizer.name} · {job_id[:8]}"
        image = boundary_plot(boundary, title=title, fmt=format)
        return Response(image, media_type=MEDIA_TYPES[format], headers=CACHE)
    response.headers.update(CACHE)
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
    )
