"""``/jobs/{id}/model`` and ``/jobs/{id}/predict``: a succeeded job's trained network."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Header, Query, Response

from core.errors import SpecRejected
from core.store import JobStore, npz_to_arrays
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.errors import Conflict
from service.routes.jobs import NOT_FOUND, find_job
from service.schemas import BAD_BODY, ErrorBody, ModelPublic, Prediction, PredictRequest
from trainer.network import predict, predict_proba

NPZ_MEDIA_TYPE = "application/octet-stream"

router = APIRouter(prefix="/jobs", tags=["jobs"])


def _model_bytes(store: JobStore, job_id: str, owner: str) -> bytes:
    record = find_job(store, job_id, owner)
    data = store.get_model_bytes(job_id)
    if data is None:
        raise Conflict(f"job {job_id} has no model: it is {record.status}")
    return data


@router.get(
    "/{job_id}/model",
    response_model=ModelPublic,
    responses={
        **NOT_FOUND,
        200: {"content": {NPZ_MEDIA_TYPE: {}}, "description": "JSON, or an .npz with ?format=npz."},
        409: {"model": ErrorBody, "description": "The job has no model yet."},
    },
    summary="The trained parameters",
)
def get_model(
    job_id: str,
    store: StoreDep,
    owner: OwnerDep,
    format: Annotated[Literal["json", "npz"] | None, Query(description="npz: a file download.")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> ModelPublic | Response:
    """``W1, b1, … WL, bL`` as JSON, or the ``.npz`` file with ``?format=npz`` or
    ``Accept: application/octet-stream``."""
    data = _model_bytes(store, job_id, owner)
    if format == "npz" or (format is None and NPZ_MEDIA_TYPE in (accept or "")):
        return Response(
            data,
            media_type=NPZ_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{job_id}.npz"'},
        )
    parameters = npz_to_arrays(data)
    depth = len(parameters) // 2
    sizes = [int(parameters["W1"].shape[1])]
    sizes += [int(parameters[f"W{layer}"].shape[0]) for layer in range(1, depth + 1)]
    return ModelPublic(
        job_id=job_id, layer_sizes=sizes, parameters={name: a.tolist() for name, a in parameters.items()}
    )


@router.post(
    "/{job_id}/predict",
    response_model=Prediction,
    responses={
        **BAD_BODY,
        **NOT_FOUND,
        409: {"model": ErrorBody, "description": "The job has no model yet."},
    },
    summary="Predict with the trained network",
)
def predict_with_model(
    job_id: str, body: PredictRequest, store: StoreDep, owner: OwnerDep, settings: SettingsDep
) -> Prediction:
    """Probabilities (sigmoid outputs) and labels (probability > 0.5) for X, features × examples."""
    parameters = npz_to_arrays(_model_bytes(store, job_id, owner))
    n_features = int(parameters["W1"].shape[1])
    widths = {len(row) for row in body.X}
    if len(body.X) != n_features or len(widths) != 1 or 0 in widths:
        raise SpecRejected(
            ("X",), f"X must be {n_features} rows (features) of equal, non-zero length (examples)"
        )
    if n_features * widths.pop() > settings.max_inline_values:
        raise SpecRejected(("X",), f"X has more than the cap of {settings.max_inline_values} numbers")
    X = np.asarray(body.X, dtype=np.float64)
    return Prediction(
        probabilities=predict_proba(parameters, X)[0].tolist(), labels=predict(parameters, X)[0].tolist()
    )
