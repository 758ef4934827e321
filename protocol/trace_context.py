"""W3C trace context on our wires: HTTP headers, Kafka record headers, stored instructions.

Every hop of a snapshot (agent -> gateway -> Kafka -> consumer) and of an approval
(console -> instruction -> executor -> result) carries the `traceparent` and `tracestate` of
the span that sent it, so one trace shows the whole path. Kafka headers are bytes; HTTP
headers and the copy stored beside an instruction are text. Only the W3C trace-context
propagator is used, whatever `OTEL_PROPAGATORS` says: these two names are the contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
TRACE_HEADERS = (TRACEPARENT, TRACESTATE)

_PROPAGATOR = TraceContextTextMapPropagator()


def current_carrier() -> dict[str, str]:
    """The current span's context as `traceparent`/`tracestate` text; empty outside a span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def inject_http(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current span's trace headers to `headers` (returned for chaining)."""
    headers.update(current_carrier())
    return headers


def kafka_headers() -> list[tuple[str, bytes]]:
    """The current span's trace context as Kafka record headers (bytes values)."""
    return [(name, value.encode()) for name, value in current_carrier().items()]


def context_from_carrier(carrier: Mapping[str, str] | None) -> Context:
    """The remote parent described by text trace headers (an empty context if there is none)."""
    if not carrier:
        return Context()
    # Header names arrive in any case over HTTP; the propagator looks them up in lower case.
    lowered = {
        name.lower(): value for name, value in carrier.items() if name.lower() in TRACE_HEADERS
    }
    return _PROPAGATOR.extract(lowered, context=Context())


def context_from_kafka(headers: Iterable[tuple[str, bytes | None]]) -> Context:
    """The remote parent carried in a Kafka record's headers."""
    carrier = {
        name: value.decode("ascii", errors="replace")
        for name, value in headers
        if name in TRACE_HEADERS and value is not None
    }
    return context_from_carrier(carrier)


def add_trace_ids(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: put the current span's `trace_id` and `span_id` on the log line."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event.setdefault("trace_id", trace.format_trace_id(span_context.trace_id))
        event.setdefault("span_id", trace.format_span_id(span_context.span_id))
    return event
