"""CPU and memory usage from `metrics.k8s.io` (metrics-server), when the cluster serves it.

Usage is optional: a cluster without metrics-server, or an agent not granted the metrics
rule, still reports its inventory, and the snapshot says why usage is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx2
from lightkube import AsyncClient
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from agent.convert.usage import node_usage, pod_usage
from agent.kube.watcher import ALL_NAMESPACES, status_code
from agent.rbac import Permission
from protocol.snapshot import ContainerUsage, NodeUsage

METRICS_GROUP = "metrics.k8s.io"
PodMetrics = create_namespaced_resource(METRICS_GROUP, "v1beta1", "PodMetrics", "pods")
NodeMetrics = create_global_resource(METRICS_GROUP, "v1beta1", "NodeMetrics", "nodes")


@dataclass
class MetricsReading:
    """Samples of one read, and notes on what could not be read."""

    containers: list[ContainerUsage] = field(default_factory=list)
    nodes: list[NodeUsage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def read_metrics(client: AsyncClient, chunk_size: int = 500) -> MetricsReading:
    """Node and container usage; a failure becomes a note, never an exception."""
    reading = MetricsReading()
    try:
        async for node in client.list(NodeMetrics, chunk_size=chunk_size):
            sample = node_usage(_plain(node))
            if sample is not None:
                reading.nodes.append(sample)
    except httpx2.HTTPError as e:
        reading.notes.append(_note_for("nodes", e))
        return reading
    try:
        pods = client.list(PodMetrics, namespace=ALL_NAMESPACES, chunk_size=chunk_size)
        async for pod in pods:
            reading.containers.extend(pod_usage(_plain(pod)))
    except httpx2.HTTPError as e:
        reading.notes.append(_note_for("pods", e))
    return reading


def _note_for(resource: str, error: httpx2.HTTPError) -> str:
    """The note a failed metrics read leaves in the snapshot."""
    if not isinstance(error, httpx2.HTTPStatusError):
        return f"{METRICS_GROUP} did not answer ({type(error).__name__}); no CPU/memory usage"
    code = status_code(error)
    if code == 404:
        return f"{METRICS_GROUP} is not served (install metrics-server); no CPU/memory usage"
    if code == 403:
        missing = Permission("list", resource, METRICS_GROUP)
        return (
            f"missing permission: {missing} — grant it in the agent's ClusterRole; "
            "no CPU/memory usage"
        )
    return f"{METRICS_GROUP} failed with HTTP {code}; no CPU/memory usage"


def _plain(item: Any) -> dict[str, Any]:
    """Generic resources are dicts already; this only narrows the type."""
    return dict(item)
