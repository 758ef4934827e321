"""Celery tasks carry the trace context of whoever sent them.

Sending a task puts the current `traceparent`/`tracestate` into the message headers; a worker
runs the task inside a consumer span whose parent is that context. Celery keeps custom message
headers as attributes of `task.request`, which is where they are read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from protocol.trace_context import TRACE_HEADERS, context_from_carrier, current_carrier


@dataclass
class CeleryTracing:
    """Signal receivers of one Celery app: inject on publish, one span per task run."""

    app: Celery
    _running: dict[str, tuple[Span, object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tracer = trace.get_tracer("workers.celery")

    def connect(self) -> None:
        """Connect the receivers (idempotent: Celery's signals are process-wide)."""
        uid = f"slicewise-tracing-{id(self.app)}"
        before_task_publish.connect(self.on_publish, weak=False, dispatch_uid=f"{uid}-publish")
        task_prerun.connect(self.on_prerun, weak=False, dispatch_uid=f"{uid}-prerun")
        task_postrun.connect(self.on_postrun, weak=False, dispatch_uid=f"{uid}-postrun")

    def on_publish(self, headers: dict[str, Any] | None = None, **_: Any) -> None:
        """Put the sender's trace context into the task message's headers."""
        if headers is not None:
            headers.update(current_carrier())

    def on_prerun(self, task_id: str, task: Any, **_: Any) -> None:
        """Start the task's span as a child of the sender's, and make it current."""
        if task.app is not self.app:
            return
        request = task.request
        carrier = {name: value for name in TRACE_HEADERS if (value := request.get(name))}
        span = self._tracer.start_span(
            task.name, context=context_from_carrier(carrier), kind=SpanKind.CONSUMER
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        self._running[task_id] = (span, token)

    def on_postrun(self, task_id: str, state: str | None = None, **_: Any) -> None:
        """End the task's span and restore the context the worker had before."""
        running = self._running.pop(task_id, None)
        if running is None:
            return
        span, token = running
        if state is not None:
            span.set_attribute("celery.state", state)
        otel_context.detach(token)  # type: ignore[arg-type]  # the token attach() returned
        span.end()
