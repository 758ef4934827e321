"""Prometheus metrics of one gateway app, in the app's own registry (several apps per process)."""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics import MetricWrapperBase
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PICKUP_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

Metric = TypeVar("Metric", bound=MetricWrapperBase)


class Children(Generic[Metric]):
    """A labelled metric's children, each looked up once.

    `labels(...)` checks and converts its values and takes the metric's lock on every call, which
    costs about twice the update itself on the request path. The metric keeps every child it
    ever made, so holding them here adds no series and no bound of its own.
    """

    def __init__(self, metric: Metric) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Metric] = {}

    def __call__(self, *values: str) -> Metric:
        """The child of `values`, as `metric.labels(*values)` returns it."""
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class GatewayMetrics:
    """Request counts and latencies by route template, bytes in, produce latency, refusals."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "slicewise_gateway_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "slicewise_gateway_request_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.bytes_in = Counter(
            "slicewise_gateway_request_body_bytes",
            "Request body bytes read, as sent (before decompression), by route template",
            ["route"],
            registry=self.registry,
        )
        self.produce_latency = Histogram(
            "slicewise_gateway_kafka_produce_seconds",
            "Time until the broker acknowledged a produced message (acks=all), by topic",
            ["topic"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.produce_failures = Counter(
            "slicewise_gateway_kafka_produce_failures",
            "Messages the broker did not acknowledge, by topic",
            ["topic"],
            registry=self.registry,
        )
        self.accepted = Counter(
            "slicewise_gateway_accepted",
            "Ingested items by kind and whether they were duplicates",
            ["kind", "duplicate"],
            registry=self.registry,
        )
        self.validated = Counter(
            "slicewise_gateway_validated",
            "Valid bodies by kind and by what accepted them: `mirror` (the msgspec fast path) or"
            " `model` (pydantic, for a spelling the mirror does not read)",
            ["kind", "by"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "slicewise_gateway_refusals",
            "Refused requests by reason",
            ["reason"],
            registry=self.registry,
        )
        self.instructions_delivered = Counter(
            "slicewise_gateway_instructions_delivered",
            "Instructions handed to executors: `first` delivery, or `repeat` for one delivered"
            " before that had no result in time (the executor may be stuck or gone)",
            ["delivery"],
            registry=self.registry,
        )
        self.instruction_pickup = Histogram(
            "slicewise_gateway_instruction_pickup_seconds",
            "Time from an instruction's approval to its first delivery to the executor",
            buckets=_PICKUP_BUCKETS,
            registry=self.registry,
        )
        self.instruction_results = Counter(
            "slicewise_gateway_instruction_results",
            "New results executors reported, by outcome",
            ["outcome"],
            registry=self.registry,
        )

        self.requests_of = Children(self.requests)
        self.latency_of = Children(self.latency)
        self.bytes_in_of = Children(self.bytes_in)
        self.produce_latency_of = Children(self.produce_latency)
        self.accepted_of = Children(self.accepted)
        self.validated_of = Children(self.validated)

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Times every HTTP request and counts it under its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, counting_receive, recording_send)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            self._metrics.requests_of(method, route, str(status)).inc()
            self._metrics.latency_of(method, route).observe(time.perf_counter() - started)
            if received:
                self._metrics.bytes_in_of(route).inc(received)


def _route_template(scope: dict[str, Any] | Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths are folded into one label so that scanners cannot blow up cardinality.
    return path if isinstance(path, str) else "unmatched"
