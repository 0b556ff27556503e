"""A TCP proxy in front of the real API that can lose answers: after :meth:`LossyProxy.lose_next`, on each
of the next connections it passes the request on, waits until the server starts answering (so the
request was handled), then closes the client's connection without the answer, as a dropped network
would. Other connections pass both ways."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit

from tests.e2e.helpers import wait_for

CHUNK = 1 << 16


class LossyProxy:
    """``with LossyProxy(api_url) as proxy: proxy.lose_next(1); …`` — its own URL is ``proxy.url``."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # accept() wakes up to see that the proxy is closing
        self._closing = threading.Event()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lose = 0
        self.lost = 0
        self.connections = 0  # accepted so far
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True, name="proxy")

    def __enter__(self) -> LossyProxy:
        self._accepting.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._accepting.join(5)
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)
        for thread in self._threads:
            thread.join(5)

    def lose_next(self, count: int) -> None:
        """Lose the answers of the next ``count`` connections; open ones are closed (with ``count`` 0, only
        that: a dropped network), so the client's next request opens a new one."""
        with self._lock:
            self.lose = count
            for sock in self._sockets:
                _close(sock)
            self._sockets.clear()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self.connections += 1
                lose = self.lose > 0
                self.lose -= lose
                self._sockets += [client, upstream]
            self._start(_pump, client, upstream)
            if lose:
                self._start(self._lose_answer, upstream, client)
            else:
                self._start(_pump, upstream, client)

    def _start(self, target: object, *args: socket.socket) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _lose_answer(self, upstream: socket.socket, client: socket.socket) -> None:
        """Wait for the first bytes of the answer, then drop both connections."""
        with contextlib.suppress(OSError):
            upstream.recv(CHUNK)
        with self._lock:
            self.lost += 1
        _close(client)
        _close(upstream)

    def wait_lost(self, count: int) -> None:
        wait_for(lambda: self.lost >= count, 10, f"{count} answers to be lost")


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until either closes."""
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(target)
        _close(source)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
