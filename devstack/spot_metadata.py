"""An EC2 instance metadata endpoint (IMDSv2) for one spot node, announcing its interruption.

The local cluster has no cloud under it, so the agent's spot watcher polls this instead of
169.254.169.254: it answers the session-token handshake, the instance id and zone, and
`spot/instance-action` with 404 until the notice is due, then with the two-minute warning
AWS sends (`{"action": "terminate", "time": ...}`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

from devstack.loopback_http import LoopbackServer

WARNING = timedelta(minutes=2)
"""How long AWS gives between the notice and the interruption."""


class SpotInstanceMetadata:
    """IMDSv2 of one instance whose spot interruption is announced `notice_after` s after start."""

    def __init__(self, instance_id: str, zone: str, notice_after: float) -> None:
        """Prepare (not start) the endpoint."""
        self.instance_id = instance_id
        self.zone = zone
        self._notice_after = notice_after
        self._token = secrets.token_urlsafe(24)
        self._started = 0.0
        self._interruption: str | None = None
        self._lock = threading.Lock()
        self._server: LoopbackServer | None = None

    @property
    def url(self) -> str:
        """Base URL (what the agent's `aws_metadata_url` takes)."""
        if self._server is None:
            raise RuntimeError("the metadata endpoint is not started")
        return self._server.base_url

    def start(self) -> None:
        """Listen on a free loopback port; the notice clock starts now."""
        self._started = time.monotonic()
        self._server = LoopbackServer(self._handler(), "spot-metadata")
        self._server.start()

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _answer(self, path: str) -> tuple[int, str]:
        if path == "/latest/meta-data/instance-id":
            return 200, self.instance_id
        if path == "/latest/meta-data/placement/availability-zone":
            return 200, self.zone
        if path == "/latest/meta-data/spot/instance-action" and self._due():
            return 200, json.dumps({"action": "terminate", "time": self._interruption_time()})
        return 404, "Not Found"

    def _interruption_time(self) -> str:
        # Fixed when first announced: AWS repeats the same action and time on every poll, and
        # the watcher tells notices apart by them, so a moving time would be a new notice each.
        with self._lock:
            if self._interruption is None:
                at = datetime.now(UTC) + WARNING
                self._interruption = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            return self._interruption

    def _due(self) -> bool:
        return time.monotonic() - self._started >= self._notice_after

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                if self.path == "/latest/api/token":
                    self._send(200, endpoint._token)
                else:
                    self._send(404, "Not Found")

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") != endpoint._token:
                    self._send(401, "Unauthorized")
                    return
                self._send(*endpoint._answer(self.path))

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base name
                """Quiet: the agent's own log says what it polled."""

        return Handler
