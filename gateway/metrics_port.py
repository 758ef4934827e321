"""/metrics on a port of its own, so that the API port (the one behind the ingress) omits it.

A small WSGI server in a daemon thread renders the app's registry; the port is bound with
SO_REUSEPORT so that every uvicorn worker process of one pod can serve it, as they share the
API port.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer


class _ReusePortServer(ThreadingWSGIServer):
    """Several worker processes bind the same metrics port."""

    allow_reuse_port = True


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape (structlog logs the gateway's own events)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Drop the line."""


class MetricsPort:
    """Serves a registry's exposition on `host:port` from `start()` until `stop()`."""

    def __init__(self, registry: CollectorRegistry, *, host: str, port: int) -> None:
        self._registry = registry
        self._host = host
        self._port = port
        self._server: _ReusePortServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the requested one, or the one picked for port 0)."""
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve in a daemon thread."""
        server = make_server(
            self._host,
            self._port,
            make_wsgi_app(self._registry),
            _ReusePortServer,
            handler_class=_QuietHandler,
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="metrics-port", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread."""
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server, self._thread = None, None
