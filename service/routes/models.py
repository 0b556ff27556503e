"""``/jobs/{id}/model``, ``/model.npz`` and ``/predict``: a succeeded job's trained network."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Header, Query, Response

from core.errors import SpecRejected
from core.store import JobStore, npz_to_arrays
from service.deps import OwnerDep, SettingsDep, StoreDep
from service.errors import Conflict
from service.openapi import BINARY
from service.routes.jobs import NOT_FOUND, find_job
from service.schemas import ErrorBody, ModelPublic, Prediction, PredictRequest
from trainer.network import predict, predict_proba

NPZ_MEDIA_TYPE = "application/octet-stream"

router = APIRouter(prefix="/jobs", tags=["jobs"])


def _model_bytes(store: JobStore, job_id: str, owner: str) -> bytes:
    record = find_job(store, job_id, owner)
    data = store.get_model_bytes(job_id)
    if data is None:
        raise Conflict(f"job {job_id} has no model: it is {record.status}")
    return data


NPZ_CONTENT = {NPZ_MEDIA_TYPE: {"schema": BINARY}}
NO_MODEL = {409: {"model": ErrorBody, "description": "The job has no model yet."}}


def _npz_response(data: bytes, job_id: str) -> Response:
    return Response(
        data,
        media_type=NPZ_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{job_id}.npz"'},
    )


@router.get(
    "/{job_id}/model",
    response_model=ModelPublic,
    responses={
        **NOT_FOUND,
        200: {"content": NPZ_CONTENT, "description": "JSON, or the .npz file with ?format=npz."},
        **NO_MODEL,
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
    ``Accept: application/octet-stream`` (``GET /jobs/{id}/model.npz`` is the file alone)."""
    data = _model_bytes(store, job_id, owner)
    if format == "npz" or (format is None and NPZ_MEDIA_TYPE in (accept or "")):
        return _npz_response(data, job_id)
    parameters = npz_to_arrays(data)
    depth = len(parameters) // 2
    sizes = [int(parameters["W1"].shape[1])]
    sizes += [int(parameters[f"W{layer}"].shape[0]) for layer in range(1, depth + 1)]
    return ModelPublic(
        job_id=job_id, layer_sizes=sizes, parameters={name: a.tolist() for name, a in parameters.items()}
    )


@router.get(
    "/{job_id}/model.npz",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {"content": NPZ_CONTENT, "description": "W1, b1, … WL, bL as an .npz file (numpy.load)."},
        **NO_MODEL,
    },
    summary="The trained parameters as an .npz file",
)
def download_model(job_id: str, store: StoreDep, owner: OwnerDep) -> Response:
    """The ``.npz`` file alone (one media type, for generated clients and ``curl -O``)."""
    return _npz_response(_model_bytes(store, job_id, owner), job_id)


@router.post(
    "/{job_id}/predict",
    name="predict",
    response_model=Prediction,
    responses={
        **NOT_FOUND,
        **NO_MODEL,
    },
    summary="Predict with the trained network",
)
def predict_with_model(
    job_id: str, body: PredictRequest, store: StoreDep, owner: OwnerDep, settings: SettingsDep
) -> Prediction:
    """Probabilities (sigmoid outputs) and labels (probability > 0.5) for the examples in ``X``
    (features × examples) or ``rows`` (one example per row)."""
    parameters = npz_to_arrays(_model_bytes(store, job_id, owner))
    n_features = int(parameters["W1"].shape[1])
    X = _examples(body, n_features, settings.max_inline_values)
    return Prediction(
        probabilities=predict_proba(parameters, X)[0].tolist(), labels=predict(parameters, X)[0].tolist()
    )


def _examples(body: PredictRequest, n_features: int, cap: int) -> np.ndarray:
    """The request's examples as X (n_features, m); a 422 naming the field if the shape is wrong."""
    if body.rows is not None:
        field, columns = "rows", body.rows
        if {len(row) for row in columns} != {n_features}:
            raise SpecRejected((field,), f"every row must hold the model's {n_features} features")
        examples = len(columns)
    else:
        field, columns = "X", body.X or []
        widths = {len(row) for row in columns}
        if len(columns) != n_features or len(widths) != 1 or 0 in widths:
            raise SpecRejected(
                (field,), f"X must be {n_features} rows (features) of equal, non-zero length (examples)"
            )
        examples = widths.pop()
    if n_features * examples > cap:
        raise SpecRejected((field,), f"{field} has more than the cap of {cap} numbers")
    X = np.asarray(columns, dtype=np.float64)
    return X.T if field == "rows" else X
