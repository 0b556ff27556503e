"""What a job may know of the worker running it: the worker's shutdown signal.

:class:`worker.runner.DescentWorker` performs each job inside :func:`running_under` its own signal;
``worker.tasks.run_job`` reads it with :func:`worker_shutdown` and hands it to the job's code explicitly.
Outside such a worker (RQ's own worker classes) a job gets a signal of its own that is never set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_shutdown: ContextVar[threading.Event | None] = ContextVar("descent_worker_shutdown", default=None)


@contextmanager
def running_under(shutdown: threading.Event) -> Iterator[None]:
    """Within the block, ``shutdown`` is the running job's signal."""
    token = _shutdown.set(shutdown)
    try:
        yield
    finally:
        _shutdown.reset(token)


def worker_shutdown() -> threading.Event:
    """The shutdown signal of the worker running the current job (a fresh, unset one outside a worker)."""
    return _shutdown.get() or threading.Event()
