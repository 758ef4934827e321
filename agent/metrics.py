"""Prometheus metrics of the agent processes, in a registry of their own, served when enabled.

Labels stay bounded: a process serves one cluster, so neither tenant nor cluster is a label
(Prometheus adds the pod's own target labels). Kinds, lanes, HTTP statuses and outcomes are
small fixed sets.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agent.uplink.spool import Lane, Spool

_SIZE_BUCKETS = tuple(float(2**n) for n in range(10, 28, 2))  # 1 KiB .. 128 MiB
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class AgentMetrics:
    """Counters and histograms of one agent process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Register every metric in `registry` (a fresh one when not given)."""
        self.registry = registry or CollectorRegistry()
        self.watch_events = Counter(
            "slicewise_agent_watch_events",
            "Kubernetes watch events applied, by kind and event type",
            ["kind", "type"],
            registry=self.registry,
        )
        self.relists = Counter(
            "slicewise_agent_relists",
            "Lists of a kind again because its watch expired (410 Gone), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.watch_interruptions = Counter(
            "slicewise_agent_watch_interruptions",
            "Failed Kubernetes requests and broken watch streams (each retried), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.snapshot_bytes = Histogram(
            "slicewise_agent_snapshot_bytes",
            "Size of each snapshot as spooled and sent (gzip-compressed JSON)",
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.upload_seconds = Histogram(
            "slicewise_agent_upload_seconds",
            "Time to post one payload to the gateway, by lane and outcome",
            ["lane", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upload_failures = Counter(
            "slicewise_agent_upload_failures",
            "Failed uploads by lane and status: the HTTP status, or `network` when none came",
            ["lane", "status"],
            registry=self.registry,
        )
        self.notices_seen = Counter(
            "slicewise_agent_spot_notices_seen",
            "New spot interruption notices read from the cloud's metadata service, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.notices_relayed = Counter(
            "slicewise_agent_spot_notices_relayed",
            "Spot notices posted to the executor, by outcome (sent, refused, expired)",
            ["outcome"],
            registry=self.registry,
        )

    def watch_spool(self, spool: Spool) -> None:
        """Serve the spool's size and the age of its oldest item, read at each scrape."""
        self.registry.register(SpoolCollector(spool))


class SpoolCollector(Collector):
    """Bytes spooled and age of the oldest spooled item, per lane, read from the disk."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families served, without reading the disk."""
        yield from _spool_families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One sample per lane of each gauge."""
        size, age = _spool_families()
        now = time.time()
        for lane in Lane:
            stats = [stat for path in self._spool.pending(lane) if (stat := _stat(path))]
            size.add_metric([lane.value], sum(s[0] for s in stats))
            age.add_metric([lane.value], max(now - stats[0][1], 0.0) if stats else 0.0)
        yield size
        yield age


def _spool_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    size = GaugeMetricFamily(
        "slicewise_agent_spool_bytes", "Bytes waiting in the spool, by lane", labels=["lane"]
    )
    age = GaugeMetricFamily(
        "slicewise_agent_spool_oldest_age_seconds",
        "Age of the oldest payload waiting in the spool (0 when the lane is empty), by lane",
        labels=["lane"],
    )
    return size, age


def _stat(path: Path) -> tuple[int, float] | None:
    """Size and modification time of a spooled file; None if it was sent meanwhile."""
    with contextlib.suppress(FileNotFoundError):
        stat = path.stat()
        return stat.st_size, stat.st_mtime
    return None


@contextlib.contextmanager
def serving_metrics(metrics: AgentMetrics, port: int, host: str) -> Iterator[int | None]:
    """Serve `/metrics` on `host:port` while the block runs (port 0: not at all); yields it."""
    if not port:
        yield None
        return
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
