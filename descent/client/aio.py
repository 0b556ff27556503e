"""The asynchronous client, :class:`AsyncDescentClient`: :class:`~descent.client.sync.DescentClient`'s
methods as coroutines (and ``events``/``points`` as async iterators), sending the same calls."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
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
from descent.client.events import (
    AsyncEventSource,
    Deadline,
    JobEvent,
    PointEvent,
    StatusEvent,
)
from descent.client.progress import JobProgress
from descent.client.retry import RetryPolicy, delay_or_raise
from descent.client.streaming import AsyncStreaming
from descent.client.sync import DEFAULT_URL, examples
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


class AsyncDescentClient:
    """``async with AsyncDescentClient(url, api_key) as client: job = await client.submit({})``."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        events: Callable[[AsyncDescentClient], AsyncEventSource] = AsyncStreaming,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, transport=transport)
        self.retry = retry or RetryPolicy()
        self.event_source = events(self)

    async def __aenter__(self) -> AsyncDescentClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send ``call``, retrying what its policy allows; its parsed answer, or the error raised."""
        for attempt in itertools.count(1):
            try:
                response = await self.http.send(call.build(self.http))
            except httpx.TransportError as error:
                delay = delay_or_raise(self.retry, call, attempt, error=error)
            else:
                if response.is_success:
                    return call.parse(response)
                delay = delay_or_raise(self.retry, call, attempt, response=response)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def submit(
        self, spec: TrainingSpec | Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> JobPublic:
        return await self.send(calls.submit(spec, idempotency_key or str(uuid.uuid4())))

    async def submit_experiment(
        self, body: ExperimentCreate | Mapping[str, Any] | None = None, *, idempotency_key: str | None = None
    ) -> ExperimentPublic:
        """Start an experiment (``POST /experiments``): a comparison or a sweep whose members are jobs;
        none is the course's comparison of gd, momentum and adam on the seed's job."""
        call = calls.submit_experiment(body or {}, idempotency_key or str(uuid.uuid4()))
        return await self.send(call)

    async def experiment(self, experiment_id: str, sort: str = "label") -> ExperimentPublic:
        """An experiment: its status, members and table (``sort``: a column, ``-column`` descending)."""
        return await self.send(calls.get_experiment(experiment_id, sort))

    async def experiments(self, offset: int = 0, limit: int = 20) -> ExperimentList:
        return await self.send(calls.list_experiments(offset, limit))

    async def experiment_costs(self, experiment_id: str, since: int = 0) -> ExperimentCosts:
        """Every member's cost points recorded after epoch ``since``, in one answer."""
        return await self.send(calls.experiment_costs(experiment_id, since))

    async def plot_experiment(self, experiment_id: str, fmt: str = "svg", log: bool = False) -> bytes:
        """The members' cost curves on one labelled chart, SVG or PNG (the course's §5 figure)."""
        return await self.send(calls.plot_experiment(experiment_id, fmt, log))

    async def cancel_experiment(self, experiment_id: str) -> ExperimentPublic:
        return await self.send(calls.cancel_experiment(experiment_id))

    async def wait_experiment(
        self, experiment_id: str, timeout: float | None = None, progress: bool = False
    ) -> ExperimentPublic:
        """The experiment once every member has finished (each followed as :meth:`wait` does)."""
        deadline = Deadline(experiment_id, timeout)
        for member in (await self.experiment(experiment_id)).members:
            await self.wait(member.job_id, timeout=deadline.left(), progress=progress)
        return await self.experiment(experiment_id)

    async def job(self, job_id: str) -> JobPublic:
        return await self.send(calls.get_job(job_id))

    async def jobs(self, status: str | None = None, offset: int = 0, limit: int = 20) -> JobList:
        return await self.send(calls.list_jobs(status, offset, limit))

    async def costs(self, job_id: str, since: int = 0, limit: int = 1000) -> CostsPage:
        return await self.send(calls.get_costs(job_id, since, limit))

    async def cancel(self, job_id: str) -> JobPublic:
        return await self.send(calls.cancel(job_id))

    async def model(self, job_id: str) -> ModelPublic:
        return await self.send(calls.get_model(job_id))

    async def model_arrays(self, job_id: str) -> dict[str, np.ndarray]:
        return npz_to_arrays(await self.send(calls.download_model(job_id)))

    async def predict(
        self, job_id: str, X: ArrayLike | None = None, *, rows: ArrayLike | None = None
    ) -> Prediction:
        return await self.send(calls.predict(job_id, *examples(X, rows)))

    async def boundary(
        self, job_id: str, grid: int | None = None, epoch: int | None = None
    ) -> BoundaryPublic:
        """A succeeded 2-feature model's decision boundary: its output over a grid (at most ``grid`` points
        per axis), and the data points; with ``epoch``, the boundary of the frame at the largest recorded
        epoch ≤ ``epoch`` (any job that has one, running too)."""
        return await self.send(calls.get_boundary(job_id, grid, epoch))

    async def boundary_image(self, job_id: str, fmt: str = "png", epoch: int | None = None) -> bytes:
        """The decision boundary drawn as the course draws it, PNG or SVG (at ``epoch``: see
        :meth:`boundary`)."""
        return await self.send(calls.boundary_image(job_id, fmt, epoch))

    async def plot(self, job_ids: list[str], fmt: str = "svg", log: bool = False) -> bytes:
        """The jobs' cost histories on one chart, SVG or PNG."""
        return await self.send(calls.plot_costs(job_ids, fmt, log))

    async def upload_dataset(self, file: str | Path | bytes, filename: str | None = None) -> DatasetPublic:
        if isinstance(file, bytes):
            data, name = file, filename or "dataset"
        else:
            data, name = await asyncio.to_thread(Path(file).read_bytes), filename or Path(file).name
        return await self.send(calls.upload_dataset(data, name))

    async def datasets(self, offset: int = 0, limit: int = 20) -> DatasetList:
        return await self.send(calls.list_datasets(offset, limit))

    async def dataset(self, dataset_id: str) -> DatasetPublic:
        return await self.send(calls.get_dataset(dataset_id))

    async def delete_dataset(self, dataset_id: str) -> None:
        """Delete one of your datasets now (else it expires DESCENT_DATASET_TTL_SECONDS after last use)."""
        await self.send(calls.delete_dataset(dataset_id))

    def events(self, job_id: str, since: int = 0, timeout: float | None = None) -> AsyncIterator[JobEvent]:
        return self.event_source.events(job_id, since, timeout)

    async def points(
        self, job_id: str, since: int = 0, timeout: float | None = None
    ) -> AsyncIterator[CostPoint]:
        async for event in self.events(job_id, since, timeout):
            if isinstance(event, PointEvent):
                yield CostPoint(epoch=event.epoch, cost=event.cost)

    async def wait(self, job_id: str, timeout: float | None = None, progress: bool = False) -> JobPublic:
        job = await self.job(job_id)
        if job.status in FINISHED:
            return job
        with JobProgress(job_id, disable=not progress) as bar:
            async for event in self.events(job_id, timeout=timeout):
                bar.show(event)
                if isinstance(event, StatusEvent) and event.finished:
                    break
        return await self.job(job_id)
