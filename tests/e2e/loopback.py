"""A keep-alive HTTP/1.1 test server on 127.0.0.1 in a background thread: the plumbing the
test IdP (idp.py) and the test upstream API (upstream.py) share.

workerd reuses connections, and a server that closes after each reply made its fetches fail,
so handlers speak HTTP/1.1 with keep-alive; `stop()` also cuts the kept-alive connections,
which would otherwise go on being served after the listener is gone.
"""

from __future__ import annotations

import http.server
import socket
import sys
import threading


class KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is dropped after this
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        with self.server.owner._lock:
            self.server.owner._conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.owner._lock:
                self.server.owner._conns.discard(self.connection)

    def log_message(self, *args) -> None:  # quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # connections are closed explicitly in LoopbackServer._close
    owner: "LoopbackServer"

    def handle_error(self, request, client_address) -> None:
        # A peer hanging up, or a test cutting connections, is expected.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Subclasses set `handler` (a KeepAliveHandler reaching them as `self.server.owner`)."""

    handler: type[KeepAliveHandler]

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.RLock()
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def listening(self) -> bool:
        return self._server is not None

    def start(self):
        """Listens (on the same port again after `stop()`); returns self."""
        if self._server is None:
            server = _Server(("127.0.0.1", self.port), self.handler)
            server.owner = self
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{type(self).__name__}-{self.name}", daemon=True)
            self._thread.start()
        return self

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            conns = list(self._conns)
            self._conns.clear()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stop(self) -> None:
        """Stops listening and drops every connection; safe to call twice."""
        self._close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
