"""The API's upload parsers: up to ``settings.upload_parsers`` processes, one upload each at a time.

Parsing a file is CPU work that holds the GIL (numpy's CSV reader holds it for the whole parse), so in a
thread of the API it would stall the event loop and every other request. It runs instead in a parser
process, ``python -m core.uploads`` (its protocol: JSON lines and the ``.npz`` bytes, nothing pickled),
whose memory is not the API's either. Processes are started on demand, kept for the next upload, and
stopped with the app (:meth:`UploadParsers.aclose`, from the lifespan).

An upload takes a parser with :meth:`UploadParsers.parser` (an ``asyncio.Semaphore`` of
``upload_parsers`` permits): waiting longer than ``upload_wait_seconds`` for one is a 503 with
``Retry-After``. A parser that dies (the OS killed it for memory) or takes longer than
``upload_parse_seconds`` is killed and answered as a file over its caps (413); one whose request was
abandoned (the client went away) is killed too, since its answer would still be on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.datasizes import DataLimits, OverCap
from core.uploads import PreparedDataset
from service.errors import Unavailable
from trainer.errors import DataError

BUSY_RETRY_AFTER = 2
"""Seconds a client is asked to wait when every parser stayed busy."""
HEADER_LIMIT = 16 * 1024 * 1024
"""Longest answer line a parser may write (its summary is bounded by ``dataset_summary_features``)."""
STOP_SECONDS = 2.0


class ParserProcess:
    """One ``python -m core.uploads`` process; ``broken`` once it must not be asked again."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.broken = False

    @classmethod
    async def start(cls) -> ParserProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "core.uploads",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=HEADER_LIMIT,
        )  # fmt: skip
        return cls(process)

    async def prepare(self, request: dict, timeout: float) -> PreparedDataset:
        """Send one request and read its answer; OverCap or DataError for a refused file, OverCap if the
        process dies or runs past ``timeout``."""
        assert self.process.stdin is not None and self.process.stdout is not None
        limits = f"(max_dataset_values = {request['max_values']})"
        try:
            async with asyncio.timeout(timeout):
                self.process.stdin.write(json.dumps(request).encode() + b"\n")
                await self.process.stdin.drain()
                line = await self.process.stdout.readline()
                if not line:
                    raise OverCap(
                        f"the parser reading the file died (out of memory?); make it smaller {limits}"
                    )
                head = json.loads(line)
                if not head["ok"]:
                    raise (OverCap if head["over_cap"] else DataError)(head["message"])
                npz = await self.process.stdout.readexactly(head["npz_bytes"])
        except TimeoutError:
            self.broken = True
            raise OverCap(
                f"parsing the file took over {timeout:g} s (upload_parse_seconds); make it smaller"
            ) from None
        except (DataError, OverCap):
            raise
        except BaseException:  # a dead pipe, or the request was cancelled with its answer still coming
            self.broken = True
            raise
        return PreparedDataset(head["format"], head["n_features"], head["n_examples"], head["summary"], npz)

    async def stop(self) -> None:
        """Close its stdin (it exits), kill it after STOP_SECONDS, and reap it."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await self.process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()


class UploadParsers:
    """At most ``processes`` parser processes, each parsing one upload at a time."""

    def __init__(self, processes: int, wait_seconds: float, parse_seconds: float) -> None:
        self.processes = processes
        self.wait_seconds = wait_seconds
        self.parse_seconds = parse_seconds
        self._slots: asyncio.Semaphore | None = None
        self._idle: list[ParserProcess] = []
        self._busy: set[ParserProcess] = set()

    @asynccontextmanager
    async def parser(self) -> AsyncIterator[ParserProcess]:
        """A parser of one's own while the block runs; 503 if none frees within ``wait_seconds``."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.processes)
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise Unavailable(
                f"all {self.processes} upload parsers (upload_parsers) stayed busy for "
                f"{self.wait_seconds:g} s; retry shortly",
                BUSY_RETRY_AFTER,
            ) from None
        try:
            parser = self._idle.pop() if self._idle else await ParserProcess.start()
            self._busy.add(parser)
            try:
                yield parser
            finally:
                self._busy.discard(parser)
                if parser.broken or parser.process.returncode is not None:
                    await parser.kill()
                else:
                    self._idle.append(parser)
        finally:
            self._slots.release()

    async def prepare(
        self, parser: ParserProcess, path: str, filename: str, limits: DataLimits, summary_features: int
    ) -> PreparedDataset:
        """``core.uploads.prepare`` of the file at ``path``, in ``parser``."""
        request = {
            "path": path,
            "filename": filename,
            "max_values": limits.max_values,
            "max_features": limits.max_features,
            "summary_features": summary_features,
        }
        return await parser.prepare(request, self.parse_seconds)

    async def aclose(self) -> None:
        """Stop every parser process (the app is shutting down)."""
        idle, self._idle = self._idle, []
        for parser in idle:
            await parser.stop()
        for parser in list(self._busy):
            await parser.kill()
