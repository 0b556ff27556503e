"""A job's statuses: every job is ``queued``, then ``running``, and ends ``succeeded``, ``failed`` or
``canceled`` (a running job handed back, or whose worker was lost, is ``queued`` again)."""

from typing import Literal, get_args

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
STATUSES: tuple[str, ...] = get_args(JobStatus)
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = STATUSES
FINISHED: frozenset[str] = frozenset({SUCCEEDED, FAILED, CANCELED})
