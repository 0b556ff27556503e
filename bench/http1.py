"""A lean HTTP/1.1 client for the load generators: one keep-alive connection, one request at a time.

The benchmarks measure the service, so their clients must cost it little CPU next to the server's. httpx
costs ~1 ms of CPU a request, and 120 clients sharing one ``httpx.AsyncClient`` cost far more: on each
request its connection pool checks every connection (``has_expired``, ``is_idle``) and asks ``sniffio``
which event loop runs; a profile of ``bench/load.py`` on it showed the generator using more CPU than the
API it measured. This one writes the request and reads the answer with asyncio streams: tens of µs.

Answers must carry ``Content-Length`` (descent's all do; a chunked one is a :class:`ProtocolError`).
"""

from __future__ import annotations

import asyncio
import json
import re

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
CLOSE = re.compile(rb"\r\nconnection: *close", re.IGNORECASE)
ERRORS = (OSError, TimeoutError, EOFError, asyncio.LimitOverrunError, ValueError)
"""What :meth:`Connection.request` raises when it gets no answer (``ProtocolError`` is a ValueError)."""


class ProtocolError(ValueError):
    """An answer this client does not read (no ``Content-Length``)."""


class Connection:
    """One client's keep-alive connection to ``host:port``; opened on first use, again after an error."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, target: str, body: object = None) -> tuple[int, bytes]:
        """Send ``method target`` (``body``, if not None, as JSON) and return the answer's status and body,
        within ``timeout`` seconds; raises one of :data:`ERRORS` (the connection is then closed)."""
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        try:
            async with asyncio.timeout(self.timeout):
                if self.streams is None:
                    self.streams = await asyncio.open_connection(self.host, self.port)
                reader, writer = self.streams
                writer.write(head.encode() + b"\r\n" + data)
                answer = await reader.readuntil(b"\r\n\r\n")
                length = CONTENT_LENGTH.search(answer)
                if length is None:
                    raise ProtocolError(f"no Content-Length in {answer[:200]!r}")
                content = await reader.readexactly(int(length.group(1)))
        except BaseException:
            self.close()
            raise
        if CLOSE.search(answer):
            self.close()
        return int(answer[9:12]), content

    def close(self) -> None:
        """Close the connection (the next request opens another)."""
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None
