"""W3C trace context on our wires: Kafka bytes headers and text carriers."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from protocol.trace_context import (
    add_trace_ids,
    context_from_carrier,
    context_from_kafka,
    current_carrier,
    kafka_headers,
)

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _remote_span() -> NonRecordingSpan:
    return NonRecordingSpan(
        SpanContext(TRACE_ID, SPAN_ID, is_remote=True, trace_flags=TraceFlags(1))
    )


def test_kafka_headers_are_bytes_named_traceparent() -> None:
    """Inside a span, the Kafka headers carry its traceparent as bytes."""
    with trace.use_span(_remote_span()):
        assert kafka_headers() == [("traceparent", TRACEPARENT.encode())]


def test_no_trace_headers_outside_a_span() -> None:
    """Without a current span there is nothing to propagate."""
    assert current_carrier() == {}


def test_kafka_headers_give_back_the_remote_parent() -> None:
    """A consumer reading the headers finds the producer's span as its parent."""
    context = context_from_kafka([("schema-version", b"1"), ("traceparent", TRACEPARENT.encode())])

    parent = trace.get_current_span(context).get_span_context()

    assert (parent.trace_id, parent.span_id, parent.is_remote) == (TRACE_ID, SPAN_ID, True)


def test_http_header_names_are_matched_in_any_case() -> None:
    """`Traceparent` as some HTTP stacks spell it is still understood."""
    context = context_from_carrier({"Traceparent": TRACEPARENT})

    assert trace.get_current_span(context).get_span_context().trace_id == TRACE_ID


def test_a_malformed_traceparent_starts_no_parent() -> None:
    """Garbage in the header is ignored rather than trusted."""
    context = context_from_carrier({"traceparent": "00-zz-yy-01"})

    assert not trace.get_current_span(context).get_span_context().is_valid


def test_log_lines_carry_the_trace_id_inside_a_span() -> None:
    """The structlog processor adds the current trace and span ids."""
    with trace.use_span(_remote_span()):
        event = add_trace_ids(None, "info", {"event": "sent"})

    assert (event["trace_id"], event["span_id"]) == (f"{TRACE_ID:032x}", f"{SPAN_ID:016x}")
