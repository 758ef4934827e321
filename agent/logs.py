"""structlog configuration of the agent processes: JSON lines on stderr in production."""

from __future__ import annotations

import logging
import sys

import structlog

from protocol.trace_context import add_trace_ids


def configure_logging(*, json: bool, level: str = "info", **bound: str) -> None:
    """Route structlog to stderr at `level`, as JSON or human-readable, with `bound` context."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(**bound)
