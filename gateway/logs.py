"""structlog set-up for the gateway process, and per-request context."""

from __future__ import annotations

import logging
import uuid

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from protocol.trace_context import add_trace_ids


def configure_logging(*, json: bool, level: int = logging.INFO) -> None:
    """Process-wide log format: JSON lines in production, readable text locally."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )


class RequestContextMiddleware:
    """Starts every request with a fresh log context carrying a request id."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=uuid.uuid4().hex)
        await self._app(scope, receive, send)
