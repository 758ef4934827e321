"""A stdlib HTTP server on loopback in a thread, for tests that need a real remote endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

from devstack.loopback_http import LoopbackServer


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `handler` on a free port of `host`; yields `http://host:port`, stops afterwards."""
    server = LoopbackServer(handler, "local-http", host)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()
