"""Prometheus metrics of a worker process: consumer lag, throughput and outcomes.

Each process owns one `CollectorRegistry` (no module-level registry) and serves it on
`/metrics`; the server chart scales ingest workers with an HPA on the lag gauge.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from threading import Thread
from types import TracebackType
from typing import Self
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

RATE_WINDOW_SECONDS = 60.0


class RateMeter:
    """Events per second over a sliding window, for the processing-rate gauge."""

    def __init__(
        self,
        window_seconds: float = RATE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A meter that has seen nothing yet."""
        self._window = window_seconds
        self._clock = clock
        self._events: collections.deque[tuple[float, int]] = collections.deque()
        self._started = clock()

    def add(self, count: int = 1) -> None:
        """Note `count` events now."""
        self._events.append((self._clock(), count))

    def rate(self) -> float:
        """Events per second over the last window (or since the meter started, if sooner)."""
        now = self._clock()
        while self._events and self._events[0][0] < now - self._window:
            self._events.popleft()
        span = min(self._window, max(now - self._started, 1e-9))
        return sum(count for _, count in self._events) / span


class ConsumerMetrics:
    """The metric families of the Kafka consumers of one process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the families in `registry`."""
        self.registry = registry
        self.messages = Counter(
            "slicewise_worker_messages",
            "Messages handled, by outcome (processed, duplicate, dead_lettered).",
            ["consumer", "topic", "outcome"],
            registry=registry,
        )
        self.retries = Counter(
            "slicewise_worker_retries",
            "Temporary failures that were retried after a back-off.",
            ["consumer", "topic"],
            registry=registry,
        )
        self.seconds = Histogram(
            "slicewise_worker_message_seconds",
            "Time to handle one message, retries included.",
            ["consumer", "topic"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.lag = Gauge(
            "slicewise_worker_consumer_lag",
            "Messages in the partition not yet processed by this consumer (high water - position).",
            ["consumer", "topic", "partition"],
            registry=registry,
        )
        self.assigned = Gauge(
            "slicewise_worker_assigned_partitions",
            "Partitions currently assigned to this consumer.",
            ["consumer"],
            registry=registry,
        )
        self.rate = Gauge(
            "slicewise_worker_processing_rate",
            f"Messages handled per second over the last {RATE_WINDOW_SECONDS:.0f} s.",
            ["consumer"],
            registry=registry,
        )


class MetricsServer:
    """`/metrics` over HTTP on a background thread, for the life of a `with` block."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        """Serve `registry` on host:port once entered (port 0 disables the server)."""
        self._registry = registry
        self._host = host
        self._port = port
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    @property
    def port(self) -> int | None:
        """The port actually bound, once started."""
        return None if self._server is None else int(self._server.server_address[1])

    def __enter__(self) -> Self:
        if self._port:
            self._server, self._thread = start_http_server(
                self._port, addr=self._host, registry=self._registry
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
