"""Run one stored job with the worker's own job function in a fresh process, and read its memory.

``python -m tests.worker.peak_rss JOB_ID`` (with ``REDIS_URL`` and ``DESCENT_QUEUE_NAME`` in the
environment) imports what a worker imports, connects, notes its resident set (``VmRSS``), runs
``worker.tasks.execute`` on the job (``worker.stacks.execute_stack`` for ``stack:STACK_ID``) and prints
``{"baseline": bytes, "peak": bytes, "ended": ...}``, the peak being the kernel's high-water mark of the
process's resident set (``VmHWM``).
"""

from __future__ import annotations

import json
import sys
import threading

import worker.runner  # noqa: F401  (everything a worker process imports before its first job)
from worker import stacks, tasks


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def main(what: str) -> None:
    jobs = tasks.process_jobs()
    jobs.store.redis.ping()
    baseline = _status_bytes("VmRSS")
    kind, _, stack_id = what.partition(":")
    if kind == "stack":
        ended = stacks.execute_stack(jobs, stack_id, jobs.settings, threading.Event())
    else:
        ended = tasks.execute(jobs, what, jobs.settings, threading.Event())
    print(json.dumps({"baseline": baseline, "peak": _status_bytes("VmHWM"), "ended": ended}))


if __name__ == "__main__":
    main(sys.argv[1])
