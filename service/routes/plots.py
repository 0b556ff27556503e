"""``/plots``: cost histories of one or several jobs drawn on one chart, to compare optimizers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from core.plots import MEDIA_TYPES, PlotFormat, cost_plot
from service.deps import OwnerDep, StoreDep
from service.errors import NotFound
from service.openapi import BINARY
from service.schemas import ErrorBody

router = APIRouter(prefix="/plots", tags=["plots"])

IMAGES = {
    "content": {media_type: {"schema": BINARY} for media_type in MEDIA_TYPES.values()},
    "description": "The chart, SVG or PNG as ``format`` asks.",
}


@router.get(
    "/costs",
    response_class=Response,
    responses={200: IMAGES, 404: {"model": ErrorBody, "description": "No job with one of those ids."}},
    summary="Cost histories of jobs on one chart",
)
def plot_costs(
    store: StoreDep,
    owner: OwnerDep,
    job: Annotated[list[str], Query(min_length=1, max_length=12, description="Job ids, repeated.")],
    format: Annotated[PlotFormat, Query(description="svg or png.")] = "svg",
    log: Annotated[bool, Query(description="Logarithmic cost axis.")] = False,
) -> Response:
    """One line per job, labelled with its optimizer, drawn from the points recorded so far."""
    series: dict[str, list[tuple[int, float]]] = {}
    for job_id in dict.fromkeys(job):
        record = store.get_job(job_id, owner=owner)
        if record is None:
            raise NotFound(f"no job with id {job_id!r}")
        label = f"{record.spec['optimizer']['name']} · {job_id[:8]}"
        series[label] = store.costs_since(job_id)
    image = cost_plot(series, title="Cost per epoch", log_scale=log, fmt=format)
    return Response(image, media_type=MEDIA_TYPES[format], headers={"Cache-Control": "no-store"})
