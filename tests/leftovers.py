"""No process the suite starts may outlive it.

Every process started while the suite runs carries :data:`MARKER` in its environment (set in this
process's environment before anything starts, and passed on by the harnesses that build an environment
from scratch). At the end of the session :func:`leftover_processes` finds any still alive, wherever it
was reparented to: the session then fails, naming them, and they are killed.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import psutil

MARKER = "DESCENT_TEST_SESSION"


def mark_session() -> dict[str, str]:
    """Set this session's marker in the environment (once); the variable to pass to built environments."""
    os.environ.setdefault(MARKER, uuid.uuid4().hex)
    return {MARKER: os.environ[MARKER]}


def leftover_processes(grace_seconds: float = 5.0) -> list[str]:
    """The processes (other than this one) still carrying the marker after ``grace_seconds`` (for ones
    that were told to stop a moment ago), each as ``pid command``; they are killed."""
    token = os.environ.get(MARKER)
    if not token:
        return []
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(MARKER) == token:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    _, alive = psutil.wait_procs(found, timeout=grace_seconds)
    names = [f"{p.pid} {' '.join(p.info['cmdline'] or [])[:200]}" for p in alive]
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return names
