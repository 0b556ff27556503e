"""What keeps two local `descent serve` runs apart: a port check, and a lock on the data folder.

Both run before `descent serve` starts anything, so a refused second run leaves the first one, its
Redis and its files alone.

* :func:`check_port`: the API's host and port can be bound now (with ``SO_REUSEADDR``, as uvicorn binds).
* :class:`DataDirLock`: an exclusive ``flock`` on ``<data_dir>/descent-serve.lock``, held for the whole
  run, with the holder's PID, API address, start time and (once started) its embedded Redis's PID
  written in it as JSON. The kernel releases the lock when its process ends, however it ends, so a lock
  whose process is gone is simply taken over; a second run while the first lives is refused, naming
  the first's PID. One more check guards the folder: a holder killed with SIGKILL leaves its embedded
  Redis running (in a session of its own); the next run refuses the folder while that Redis lives.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

LOCK_NAME = "descent-serve.lock"


class RunRefused(RuntimeError):
    """`descent serve` must not start: the message says why and what to do instead."""


def another_run_hint(port: int) -> str:
    """How to run a second instance beside the first."""
    other = port + 1
    return (
        f"To run another instance beside it, give it its own port and data folder: "
        f"`make run PORT={other} DESCENT_DATA_DIR=.descent-{other}`, or "
        f"`descent serve --port {other} --data-dir .descent-{other}` (DESCENT_PORT, DESCENT_DATA_DIR)."
    )


def check_port(host: str, port: int) -> None:
    """Raise :class:`RunRefused` if ``host:port`` cannot be bound right now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RunRefused(f"cannot listen on {host!r}: {exc.strerror}; choose another --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise RunRefused(
                f"port {port} on {host} is in use ({exc.strerror}): another program, or another "
                f"descent serve, listens there. Choose another port: `make run PORT={port + 1}`, or "
                f"`descent serve --port {port + 1}` (DESCENT_PORT={port + 1})."
            ) from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


class DataDirLock:
    """The data folder's lock, held from :meth:`acquire` until :meth:`release` (or the process's end)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.path = self.data_dir / LOCK_NAME
        self.fd: int | None = None
        self.created = False
        self.info: dict[str, Any] = {}
        self.previous: dict[str, Any] = {}

    def acquire(self, host: str, port: int) -> None:
        """Take the lock for this process (serving on ``host:port``), or raise :class:`RunRefused` saying
        which process holds the folder. A lock left by a process that is gone is taken over
        (:attr:`previous` keeps what it said)."""
        self.created = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read(fd)
            os.close(fd)
            raise RunRefused(self._held_message(holder, port)) from None
        self.fd, self.previous = fd, self._read(fd)
        orphan = self.previous.get("redis_pid")
        if orphan and _alive(orphan) and "redis-server" in _command_line(orphan):
            self.release()
            raise RunRefused(
                f"the embedded Redis (pid {orphan}) of a descent serve that ended without stopping it "
                f"(pid {self.previous.get('pid')}) still runs on {self.data_dir}; stop it first "
                f"(`kill {orphan}`: it saves its data). {another_run_hint(port)}"
            )
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        self.info = {"pid": os.getpid(), "host": host, "port": port, "since": since}
        self._write()

    def took_over(self) -> int | None:
        """The PID of the gone process whose lock this run took over, if any."""
        pid = self.previous.get("pid")
        return pid if isinstance(pid, int) and pid != os.getpid() else None

    def note_redis(self, pid: int) -> None:
        """Record the embedded Redis's PID (a later run refuses the folder while it lives on)."""
        self.info["redis_pid"] = pid
        self._write()

    def release(self) -> None:
        """Empty the file and let the lock go (the file stays: removing it would race a new run)."""
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)
        os.close(self.fd)
        self.fd = None

    def discard(self) -> None:
        """Release the lock of a run that was refused; a data folder this run made, still holding nothing
        but the lock file, is removed again."""
        self.release()
        if self.created and [p.name for p in self.data_dir.iterdir()] == [LOCK_NAME]:
            self.path.unlink()
            self.data_dir.rmdir()

    def _write(self) -> None:
        assert self.fd is not None
        data = json.dumps(self.info).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        with contextlib.suppress(OSError, ValueError):
            data = os.pread(fd, 4096, 0)
            info = json.loads(data) if data else {}
            return info if isinstance(info, dict) else {}
        return {}

    def _held_message(self, holder: dict[str, Any], port: int) -> str:
        who = f"pid {holder['pid']}" if "pid" in holder else "a process that has not written its PID yet"
        where = f", API on {holder['host']}:{holder['port']}" if "port" in holder else ""
        since = f", since {holder['since']}" if "since" in holder else ""
        return (
            f"the data folder {self.data_dir} is in use by another descent serve ({who}{where}{since}); "
            f"two embedded Redis servers must never share one folder. Stop that one first (Ctrl-C in its "
            f"terminal, or `kill {holder.get('pid', 'PID')}`). {another_run_hint(port)}"
        )
