"""Each operation of the API as a :class:`Call`: the request to send and how to read its answer, with no
I/O, so the synchronous and the asynchronous client send the same calls.

A call is *safe* when sending it twice does what sending it once does: GETs, DELETE (cancelling twice
leaves one canceled job), predict (it changes nothing) and ``POST /jobs`` with its ``Idempotency-Key``
(the server answers a repeat with the first request's job). Only safe calls are retried once the request
may have reached the server (``descent.client.retry``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from core.experiments.request import ExperimentCreate
from core.spec import TrainingSpec
from service.experiment_schemas import ExperimentCosts, ExperimentList, ExperimentPublic
from service.schemas import (
    BoundaryPublic,
    CostsPage,
    DatasetList,
    DatasetPublic,
    JobList,
    JobPublic,
    ModelPublic,
    Prediction,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the parser of its success body."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    safe: bool
    params: Mapping[str, Any] | None = None
    json: Any = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """A fresh request (each try sends its own, so an upload's body is whole every time)."""
        return http.build_request(
            self.method, self.path, params=self.params, json=self.json, files=self.files, headers=self.headers
        )


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate_json(response.content)


def _content(response: httpx.Response) -> bytes:
    return response.content


def _job(job_id: str, tail: str = "") -> str:
    return f"/jobs/{quote(job_id, safe='')}{tail}"


def submit(spec: TrainingSpec | Mapping[str, Any], idempotency_key: str) -> Call[JobPublic]:
    """``POST /jobs`` with the key that makes retrying it safe."""
    body = spec.model_dump(mode="json") if isinstance(spec, TrainingSpec) else dict(spec)
    headers = {IDEMPOTENCY_HEADER: idempotency_key}
    return Call("POST", "/jobs", _model(JobPublic), safe=True, json=body, headers=headers)


def submit_experiment(
    body: ExperimentCreate | Mapping[str, Any], idempotency_key: str
) -> Call[ExperimentPublic]:
    """``POST /experiments`` (``{}`` is the course's comparison) with the key that makes retrying it safe."""
    json = (
        body.model_dump(mode="json", exclude_unset=True) if isinstance(body, ExperimentCreate) else dict(body)
    )
    headers = {IDEMPOTENCY_HEADER: idempotency_key}
    return Call("POST", "/experiments", _model(ExperimentPublic), safe=True, json=json, headers=headers)


def get_experiment(experiment_id: str, sort: str) -> Call[ExperimentPublic]:
    path = f"/experiments/{quote(experiment_id, safe='')}"
    return Call("GET", path, _model(ExperimentPublic), safe=True, params={"sort": sort})


def list_experiments(offset: int, limit: int) -> Call[ExperimentList]:
    params = {"offset": offset, "limit": limit}
    return Call("GET", "/experiments", _model(ExperimentList), safe=True, params=params)


def experiment_costs(experiment_id: str, since: int) -> Call[ExperimentCosts]:
    path = f"/experiments/{quote(experiment_id, safe='')}/costs"
    return Call("GET", path, _model(ExperimentCosts), safe=True, params={"since": since})


def plot_experiment(experiment_id: str, fmt: str, log: bool) -> Call[bytes]:
    path = f"/experiments/{quote(experiment_id, safe='')}/plot"
    return Call("GET", path, _content, safe=True, params={"format": fmt, "log": str(log).lower()})


def cancel_experiment(experiment_id: str) -> Call[ExperimentPublic]:
    path = f"/experiments/{quote(experiment_id, safe='')}"
    return Call("DELETE", path, _model(ExperimentPublic), safe=True)


def get_job(job_id: str) -> Call[JobPublic]:
    return Call("GET", _job(job_id), _model(JobPublic), safe=True)


def list_jobs(status: str | None, offset: int, limit: int) -> Call[JobList]:
    params = {"offset": offset, "limit": limit, **({"status": status} if status else {})}
    return Call("GET", "/jobs", _model(JobList), safe=True, params=params)


def get_costs(job_id: str, since: int, limit: int) -> Call[CostsPage]:
    params = {"since": since, "limit": limit}
    return Call("GET", _job(job_id, "/costs"), _model(CostsPage), safe=True, params=params)


def get_events(job_id: str) -> Call[None]:
    """The job's event stream; read by ``descent.client.streaming``, which parses it as it comes."""
    return Call("GET", _job(job_id, "/events"), lambda response: None, safe=True)


def cancel(job_id: str) -> Call[JobPublic]:
    return Call("DELETE", _job(job_id), _model(JobPublic), safe=True)


def get_model(job_id: str) -> Call[ModelPublic]:
    return Call("GET", _job(job_id, "/model"), _model(ModelPublic), safe=True)


def download_model(job_id: str) -> Call[bytes]:
    return Call("GET", _job(job_id, "/model.npz"), _content, safe=True)


def predict(job_id: str, layout: str, examples: list[list[float]]) -> Call[Prediction]:
    """``layout`` is ``X`` (features × examples) or ``rows`` (one example per row)."""
    return Call("POST", _job(job_id, "/predict"), _model(Prediction), safe=True, json={layout: examples})


def upload_dataset(data: bytes, filename: str) -> Call[DatasetPublic]:
    """Not safe: the server makes a new dataset of each upload (only a refused connection is retried)."""
    files = {"file": (filename, data, "application/octet-stream")}
    return Call("POST", "/datasets", _model(DatasetPublic), safe=False, files=files)


def list_datasets(offset: int, limit: int) -> Call[DatasetList]:
    params = {"offset": offset, "limit": limit}
    return Call("GET", "/datasets", _model(DatasetList), safe=True, params=params)


def get_dataset(dataset_id: str) -> Call[DatasetPublic]:
    return Call("GET", f"/datasets/{quote(dataset_id, safe='')}", _model(DatasetPublic), safe=True)


def delete_dataset(dataset_id: str) -> Call[None]:
    """Not safe: a repeat of a delete that went through is a 404 (only a refused connection is retried)."""
    return Call("DELETE", f"/datasets/{quote(dataset_id, safe='')}", lambda _: None, safe=False)


def get_boundary(job_id: str, grid: int | None, epoch: int | None = None) -> Call[BoundaryPublic]:
    given = {"grid": grid, "epoch": epoch}
    params = {name: value for name, value in given.items() if value is not None}
    return Call("GET", _job(job_id, "/boundary"), _model(BoundaryPublic), safe=True, params=params)


def boundary_image(job_id: str, fmt: str, epoch: int | None = None) -> Call[bytes]:
    params = {"format": fmt, **({"epoch": epoch} if epoch is not None else {})}
    return Call("GET", _job(job_id, "/boundary"), _content, safe=True, params=params)


def plot_costs(job_ids: list[str], fmt: str, log: bool) -> Call[bytes]:
    params = {"job": job_ids, "format": fmt, "log": str(log).lower()}
    return Call("GET", "/plots/costs", _content, safe=True, params=params)
