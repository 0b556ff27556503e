"""The data folder's lock: held by a live process it refuses, naming it; a dead holder's lock is taken
over; a killed holder's embedded Redis still running on the folder is refused too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from descent.embedded_redis import stop_process
from descent.run_guard import LOCK_NAME, DataDirLock, RunRefused
from tests.servers import start_redis

HOLD = """
import sys
from pathlib import Path
from descent.run_guard import DataDirLock
lock = DataDirLock(Path(sys.argv[1]))
lock.acquire("127.0.0.1", 8123)
print("held", flush=True)
sys.stdin.read()
"""


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_folder_held_by_a_live_process_is_refused_naming_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunRefused) as refused:
            DataDirLock(tmp_path).acquire("127.0.0.1", 8000)
        assert f"pid {holder.pid}, API on 127.0.0.1:8123" in str(refused.value)
        assert "make run PORT=8001 DESCENT_DATA_DIR=.descent-8001" in str(refused.value)
    finally:
        holder.stdin.close()
        holder.wait(10)
    lock = DataDirLock(tmp_path)  # its process ended: the lock is free again
    lock.acquire("127.0.0.1", 8000)
    lock.release()


def test_a_lock_whose_process_is_gone_is_taken_over(tmp_path: Path) -> None:
    gone = dead_pid()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": gone, "host": "127.0.0.1", "port": 8000}))
    lock = DataDirLock(tmp_path)
    lock.acquire("127.0.0.1", 8000)
    try:
        assert lock.took_over() == gone
        written = json.loads((tmp_path / LOCK_NAME).read_text())
        assert written["pid"] != gone and written["port"] == 8000
    finally:
        lock.release()


def test_the_running_redis_of_a_killed_serve_is_refused(tmp_path: Path) -> None:
    orphan = start_redis(tmp_path / "redis")
    try:
        assert orphan.process is not None
        info = {"pid": dead_pid(), "redis_pid": orphan.process.pid}
        (tmp_path / LOCK_NAME).write_text(json.dumps(info))
        with pytest.raises(RunRefused) as refused:
            DataDirLock(tmp_path).acquire("127.0.0.1", 8000)
        assert f"the embedded Redis (pid {orphan.process.pid})" in str(refused.value)
        assert f"kill {orphan.process.pid}" in str(refused.value)
    finally:
        stop_process(orphan.process)
    lock = DataDirLock(tmp_path)  # once it is stopped, the folder is free
    lock.acquire("127.0.0.1", 8000)
    lock.release()
