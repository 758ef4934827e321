"""Names of every sample the Slicewise processes export, from the registries they build.

Each process builds its metrics from these classes (gateway, ingest and spot workers, Celery
worker and beat, agent, executor); the names are read back from prometheus-client itself, so
a renamed metric changes what dashboards and alerts may refer to.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Metric

from agent.metrics import AgentMetrics
from agent.uplink.spool import Spool
from executor.metrics import ExecutorMetrics
from gateway.metrics import GatewayMetrics
from workers.celery_metrics import BeatMetrics, TaskMetrics
from workers.metrics import ConsumerMetrics
from workers.queue_metrics import CeleryQueueDepth

# Sample names a family of each type exposes (prometheus-client's text format).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created", ""),
    "gauge": ("",),
    "info": ("_info",),
}


def exported_sample_names(spool_dir: Path) -> set[str]:
    """Every sample name of every process; `spool_dir` holds the agent's (empty) spool."""
    server = CollectorRegistry()
    ConsumerMetrics(server)
    TaskMetrics(server)
    BeatMetrics(server)
    # The queue-depth collector reads Redis on collection; its description needs no Redis.
    queue = CeleryQueueDepth("redis://127.0.0.1:1/0", "unused")
    try:
        described = list(queue.describe())
    finally:
        queue.close()
    agent = AgentMetrics()
    agent.watch_spool(Spool(spool_dir, max_snapshot_bytes=1))
    registries = [
        server,
        GatewayMetrics().registry,
        agent.registry,
        ExecutorMetrics(CollectorRegistry()).registry,
    ]
    families = [*described, *(family for r in registries for family in r.collect())]
    return set(_sample_names(families))


def _sample_names(families: Iterable[Metric]) -> Iterable[str]:
    for family in families:
        for suffix in _SUFFIXES[family.type]:
            yield family.name + suffix
