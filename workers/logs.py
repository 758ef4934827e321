"""Structured logging for worker processes (structlog; JSON in production)."""

from __future__ import annotations

import logging
import sys

import structlog

from protocol.trace_context import add_trace_ids


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Route structlog (and the standard library's loggers) to stderr at `level`.

    Called once by each process's wiring function; library code only binds and logs.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
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
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
