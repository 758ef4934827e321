"""Processing rate over a sliding window, and the /metrics endpoint."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry

from devstack.process import free_port
from workers.metrics import ConsumerMetrics, MetricsServer, RateMeter


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_counts_events_in_the_window_only() -> None:
    """30 events, then 60 s later 10 more: the 60-second window holds only the last 10."""
    clock = Clock()
    meter = RateMeter(window_seconds=60, clock=clock)
    clock.now += 60
    meter.add(30)
    clock.now += 61
    meter.add(10)
    assert meter.rate() == 10 / 60


def test_rate_of_a_young_meter_is_over_its_age() -> None:
    """12 events in the first 4 seconds are 3 per second, not 12 per minute."""
    clock = Clock()
    meter = RateMeter(window_seconds=60, clock=clock)
    clock.now += 4
    meter.add(12)
    assert meter.rate() == 3.0


def test_metrics_endpoint_serves_the_registry() -> None:
    """A lag set on partition 3 is scraped from /metrics; the server stops on exit."""
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    metrics.lag.labels("w1", "snapshots", "3").set(42)
    port = free_port()
    with MetricsServer(registry, "127.0.0.1", port) as server:
        assert server.port == port
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert (
        'slicewise_worker_consumer_lag{consumer="w1",partition="3",topic="snapshots"} 42.0' in text
    )
    assert server.port is None


def test_port_zero_disables_the_endpoint() -> None:
    """With port 0 nothing is served."""
    with MetricsServer(CollectorRegistry(), "127.0.0.1", 0) as server:
        assert server.port is None
