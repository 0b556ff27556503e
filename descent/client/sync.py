"""The synchronous client, :class:`DescentClient`."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
from numpy.typing import ArrayLike

from core.experiments.request import ExperimentCreate
from core.spec import TrainingSpec
from core.statuses import FINISHED
from core.store import npz_to_arrays
from descent.client import calls
from descent.client.calls import Call
from descent.client.events import Deadline, EventSource, JobEvent, PointEvent, StatusEvent
from descent.client.progress import JobProgress
from descent.client.retry import RetryPolicy, delay_or_raise
from descent.client.streaming import Streaming
from service.experiment_schemas import ExperimentCosts, ExperimentList, ExperimentPublic
from service.schemas import (
    BoundaryPublic,
    CostPoint,
    CostsPage,
    DatasetList,
    DatasetPublic,
    JobList,
    JobPublic,
    ModelPublic,
    Prediction,
)

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"


class DescentClient:
    """A client of a descent server: ``with DescentClient(url, api_key) as client: ...``.

    Answers are the service's own pydantic models (``service.schemas``); an error answer raises the
    :class:`~descent.client.errors.APIError` of its status, carrying the server's message and fields.
    Safe calls are retried on a broken connection, 429 and 5xx (:class:`RetryPolicy`); ``submit`` sends an
    ``Idempotency-Key`` of its own, so its retries never make a second job. ``events`` picks the live
    event source: the server's event stream (:class:`~descent.client.streaming.Streaming`, the default),
    or :class:`~descent.client.events.Polling` of ``/costs?since=`` where a proxy does not pass streams.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        events: Callable[[DescentClient], EventSource] = Streaming,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=timeout, transport=transport)
        self.retry = retry or RetryPolicy()
        self.event_source = events(self)

    def __enter__(self) -> DescentClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def send(self, call: Call[T]) -> T:
        """Send ``call``, retrying what its policy allows; its parsed answer, or the error raised."""
        for attempt in itertools.count(1):
            try:
                response = self.http.send(call.build(self.http))
            except httpx.TransportError as error:
                delay = delay_or_raise(self.retry, call, attempt, error=error)
            else:
                if response.is_success:
                    return call.parse(response)
                delay = delay_or_raise(self.retry, call, attempt, response=response)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def submit(
        self, spec: TrainingSpec | Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> JobPublic:
        """Queue a job (a spec, or its JSON as a dict; ``{}`` is the seed's Adam job)."""
        return self.send(calls.submit(spec, idempotency_key or str(uuid.uuid4())))

    def submit_experiment(
        self, body: ExperimentCreate | Mapping[str, Any] | None = None, *, idempotency_key: str | None = None
    ) -> ExperimentPublic:
        """Start an experiment (``POST /experiments``): a comparison or a sweep whose members are jobs;
        none is the course's comparison of gd, momentum and adam on the seed's job."""
        call = calls.submit_experiment(body or {}, idempotency_key or str(uuid.uuid4()))
        return self.send(call)

    def experiment(self, experiment_id: str, sort: str = "label") -> ExperimentPublic:
        """An experiment: its status, members and table (``sort``: a column, ``-column`` descending)."""
        return self.send(calls.get_experiment(experiment_id, sort))

    def experiments(self, offset: int = 0, limit: int = 20) -> ExperimentList:
        return self.send(calls.list_experiments(offset, limit))

    def experiment_costs(self, experiment_id: str, since: int = 0) -> ExperimentCosts:
        """Every member's cost points recorded after epoch ``since``, in one answer."""
        return self.send(calls.experiment_costs(experiment_id, since))

    def plot_experiment(self, experiment_id: str, fmt: str = "svg", log: bool = False) -> bytes:
        """The members' cost curves on one labelled chart, SVG or PNG (the course's §5 figure)."""
        return self.send(calls.plot_experiment(experiment_id, fmt, log))

    def cancel_experiment(self, experiment_id: str) -> ExperimentPublic:
        return self.send(calls.cancel_experiment(experiment_id))

    def wait_experiment(
        self, experiment_id: str, timeout: float | None = None, progress: bool = False
    ) -> ExperimentPublic:
        """The experiment once every member has finished (each followed as :meth:`wait` does)."""
        deadline = Deadline(experiment_id, timeout)
        for member in (self.experiment(experiment_id)).members:
            self.wait(member.job_id, timeout=deadline.left(), progress=progress)
        return self.experiment(experiment_id)

    def job(self, job_id: str) -> JobPublic:
        return self.send(calls.get_job(job_id))

    def jobs(self, status: str | None = None, offset: int = 0, limit: int = 20) -> JobList:
        """One page of jobs, newest first."""
        return self.send(calls.list_jobs(status, offset, limit))

    def costs(self, job_id: str, since: int = 0, limit: int = 1000) -> CostsPage:
        """The cost points recorded after epoch ``since``, with the job's status and progress."""
        return self.send(calls.get_costs(job_id, since, limit))

    def cancel(self, job_id: str) -> JobPublic:
        return self.send(calls.cancel(job_id))

    def model(self, job_id: str) -> ModelPublic:
        """The trained parameters as JSON lists."""
        return self.send(calls.get_model(job_id))

    def model_arrays(self, job_id: str) -> dict[str, np.ndarray]:
        """The trained parameters ``W1, b1, … WL, bL`` as NumPy arrays (from the .npz)."""
        return npz_to_arrays(self.send(calls.download_model(job_id)))

    def download_model(self, job_id: str, path: str | Path) -> Path:
        """Write the model's .npz to ``path``."""
        path = Path(path)
        path.write_bytes(self.send(calls.download_model(job_id)))
        return path

    def predict(
        self, job_id: str, X: ArrayLike | None = None, *, rows: ArrayLike | None = None
    ) -> Prediction:
        """Probabilities and labels for ``X`` (features × examples) or ``rows`` (one example per row)."""
        return self.send(calls.predict(job_id, *examples(X, rows)))

    def boundary(self, job_id: str, grid: int | None = None, epoch: int | None = None) -> BoundaryPublic:
        """A succeeded 2-feature model's decision boundary: its output over a grid (at most ``grid`` points
        per axis), and the data points; with ``epoch``, the boundary of the frame at the largest recorded
        epoch ≤ ``epoch`` (any job that has one, running too)."""
        return self.send(calls.get_boundary(job_id, grid, epoch))

    def boundary_image(self, job_id: str, fmt: str = "png", epoch: int | None = None) -> bytes:
        """The decision boundary drawn as the course draws it, PNG or SVG (at ``epoch``: see
        :meth:`boundary`)."""
        return self.send(calls.boundary_image(job_id, fmt, epoch))

    def upload_dataset(self, file: str | Path | bytes, filename: str | None = None) -> DatasetPublic:
        """Upload a .csv (label last), .npy or .npz (X, Y) file, or its bytes with ``filename``."""
        data, name = (file, filename or "dataset") if isinstance(file, bytes) else _read(Path(file), filename)
        return self.send(calls.upload_dataset(data, name))

    def datasets(self, offset: int = 0, limit: int = 20) -> DatasetList:
        return self.send(calls.list_datasets(offset, limit))

    def dataset(self, dataset_id: str) -> DatasetPublic:
        return self.send(calls.get_dataset(dataset_id))

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete one of your datasets now (else it expires DESCENT_DATASET_TTL_SECONDS after last use)."""
        self.send(calls.delete_dataset(dataset_id))

    def plot(self, job_ids: list[str], fmt: str = "svg", log: bool = False) -> bytes:
        """The jobs' cost histories on one chart, SVG or PNG."""
        return self.send(calls.plot_costs(job_ids, fmt, log))

    def events(self, job_id: str, since: int = 0, timeout: float | None = None) -> Iterator[JobEvent]:
        """The job's live events until its final status (``descent.client.events``)."""
        return self.event_source.events(job_id, since, timeout)

    def points(self, job_id: str, since: int = 0, timeout: float | None = None) -> Iterator[CostPoint]:
        """Each cost point after epoch ``since`` as it is recorded, until the job finishes."""
        for event in self.events(job_id, since, timeout):
            if isinstance(event, PointEvent):
                yield CostPoint(epoch=event.epoch, cost=event.cost)

    def wait(self, job_id: str, timeout: float | None = None, progress: bool = False) -> JobPublic:
        """The job once it has finished (succeeded, failed or canceled), with a progress bar on stderr if
        ``progress``; WaitTimeout after ``timeout`` seconds."""
        job = self.job(job_id)  # a 404 at once for an unknown job
        if job.status in FINISHED:
            return job
        with JobProgress(job_id, disable=not progress) as bar:
            for event in self.events(job_id, timeout=timeout):
                bar.show(event)
                if isinstance(event, StatusEvent) and event.finished:
                    break
        return self.job(job_id)


def examples(X: ArrayLike | None, rows: ArrayLike | None) -> tuple[str, list[list[float]]]:
    """``("X", …)`` or ``("rows", …)`` as JSON lists; exactly one of the two must be given."""
    if (X is None) == (rows is None):
        raise TypeError("give exactly one of X (features × examples) and rows (one example per row)")
    layout, values = ("X", X) if X is not None else ("rows", rows)
    return layout, np.asarray(values, dtype=np.float64).tolist()


def _read(path: Path, filename: str | None) -> tuple[bytes, str]:
    return path.read_bytes(), filename or path.name
