"""Logging of the API and the workers: plain text, or one JSON object per line (``DESCENT_LOG_FORMAT``).

:func:`configure_logging` gives the root logger one handler on stderr and routes uvicorn's and RQ's
loggers through it, so every line of a process has one format. In ``json`` each line is an object from
python-json-logger's ``JsonFormatter``::

    {"time": "2026-05-01T12:00:00+0000", "level": "INFO", "logger": "worker.tasks",
     "message": "job 3f2c…: succeeded", "process": 4242, "request_id": null, "job_id": "3f2c…"}

``request_id`` and ``job_id`` come from the context variables :data:`REQUEST_ID` and :data:`JOB_ID`:
the API's request-id middleware sets the first for each request (and a route the second once it knows
the job), a worker sets the second for the job it runs (:func:`bound_job`). A record's own
``extra={"job_id": …}`` wins over the context.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("descent_request_id", default=None)
JOB_ID: ContextVar[str | None] = ContextVar("descent_job_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d %(request_id)s %(job_id)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
ROUTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "rq", "rq.worker", "rq.worker_pool")
"""Loggers that uvicorn and RQ give handlers of their own; ours replace them."""


class ContextFilter(logging.Filter):
    """Puts ``request_id`` and ``job_id`` on every record (from the context unless the record has them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        if getattr(record, "job_id", None) is None:
            record.job_id = JOB_ID.get()
        return True


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    if log_format == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES, datefmt="%Y-%m-%dT%H:%M:%S%z")
    return logging.Formatter(TEXT_FORMAT)


class DescentHandler(logging.StreamHandler):
    """The handler :func:`configure_logging` installs (told apart from others' handlers on the root)."""


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """One stderr handler on the root logger in ``log_format``, at ``level``; uvicorn's and RQ's loggers
    lose their own handlers and propagate to it, except one that was switched off (no handler and no
    propagation: uvicorn's ``--no-access-log`` leaves ``uvicorn.access`` so), which stays off. Calling it
    again replaces that handler (and leaves any other root handler, such as a test runner's, alone)."""
    handler = DescentHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, DescentHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ROUTED_LOGGERS:
        routed = logging.getLogger(name)
        if not routed.handlers and not routed.propagate:
            continue
        for old in list(routed.handlers):
            routed.removeHandler(old)
        routed.propagate = True


def dict_config(log_format: str = "text", level: str = "INFO") -> dict:
    """What :func:`configure_logging` does, as a ``logging.config.dictConfig`` (uvicorn's
    ``--log-config``, which applies it in its parent process too)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "core.logs.ContextFilter"}},
        "formatters": {"descent": {"()": "core.logs.formatter", "log_format": log_format}},
        "handlers": {
            "descent": {
                "class": "core.logs.DescentHandler",
                "formatter": "descent",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["descent"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True} for name in ROUTED_LOGGERS},
    }


@contextmanager
def bound_job(job_id: str) -> Iterator[None]:
    """Within the block, every record of this thread's context carries ``job_id``."""
    token = JOB_ID.set(job_id)
    try:
        yield
    finally:
        JOB_ID.reset(token)
