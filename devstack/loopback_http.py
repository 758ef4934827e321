"""A stdlib HTTP server on a free loopback port, served from a background thread.

The local cluster's stand-ins for endpoints that real clusters offer (the DCGM exporter, a
cloud's instance metadata) and the tests' remote endpoints all serve this way.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JOIN_TIMEOUT = 10.0


class LoopbackServer:
    """`handler` on `host`:<free port> while started."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], name: str, host: str = "127.0.0.1"
    ) -> None:
        """Prepare (not start) the server; `name` names its thread."""
        self._handler = handler
        self._name = name
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server."""
        if self._server is None:
            raise RuntimeError(f"{self._name} is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> None:
        """Listen on a free port and serve in a daemon thread."""
        self._server = ThreadingHTTPServer((self._host, 0), self._handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self._name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and join the thread (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT)
            self._thread = None
