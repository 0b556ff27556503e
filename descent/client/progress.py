"""A progress bar of a job, drawn on stderr from its events: epochs done of epochs, the last cost, the
status, the time elapsed (as ``descent train`` draws its own run)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from descent.client.events import JobEvent, PointEvent, ProgressEvent, StatusEvent


class JobProgress:
    """``with JobProgress(job_id) as bar: bar.show(event)`` for each event; nothing drawn if ``disable``."""

    def __init__(self, job_id: str, disable: bool = False, console: Console | None = None) -> None:
        columns = (
            TextColumn(f"job {job_id[:8]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
        )
        self._progress = Progress(*columns, console=console or Console(stderr=True), disable=disable)
        self._task = self._progress.add_task("queued", total=None)
        self._status = "queued"
        self._cost = ""

    def __enter__(self) -> JobProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._progress.stop()

    def show(self, event: JobEvent) -> None:
        """Move the bar to what ``event`` says."""
        if isinstance(event, PointEvent) and event.cost is not None:
            self._cost = f"cost {event.cost:.6f}"
        elif isinstance(event, ProgressEvent):
            self._progress.update(self._task, completed=event.epoch, total=event.epochs)
        elif isinstance(event, StatusEvent):
            self._status = event.status
        description = " · ".join(part for part in (self._status, self._cost) if part)
        self._progress.update(self._task, description=description)
