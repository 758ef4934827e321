"""Kubernetes Nodes as `protocol.snapshot.Node`."""

from __future__ import annotations

from typing import Literal

from lightkube.models.core_v1 import Taint as KubeTaint
from lightkube.resources.core_v1 import Node as KubeNode

from agent.convert.gpu import gpu_info
from agent.convert.metadata import (
    bounded_labels,
    name_of,
    resource_version_of,
    uid_of,
)
from agent.convert.resources import to_resources
from protocol.snapshot import Node, Taint

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
TAINT_EFFECTS: dict[str, TaintEffect] = {
    "NoSchedule": "NoSchedule",
    "PreferNoSchedule": "PreferNoSchedule",
    "NoExecute": "NoExecute",
}
MAX_TAINTS = 64


def to_node(node: KubeNode) -> Node:
    """Convert a Node: capacity, allocatable, taints, readiness and GPUs."""
    meta, spec, status = node.metadata, node.spec, node.status
    labels = bounded_labels(meta.labels if meta else None)
    capacity = to_resources(status.capacity if status else None)
    taints = [
        taint for t in (spec.taints or [] if spec else []) if (taint := _taint(t)) is not None
    ][:MAX_TAINTS]
    return Node(
        name=name_of(meta),
        uid=uid_of(meta),
        resource_version=resource_version_of(meta),
        labels=labels,
        taints=taints,
        capacity=capacity,
        allocatable=to_resources(status.allocatable if status else None),
        unschedulable=bool(spec.unschedulable) if spec else False,
        ready=_ready(node),
        provider_id=(spec.providerID or None) if spec else None,
        gpu=gpu_info(labels, capacity.extended),
        created_at=meta.creationTimestamp if meta else None,
    )


def _taint(taint: KubeTaint) -> Taint | None:
    """A taint with one of the three known effects; anything else is not a scheduling taint."""
    effect = TAINT_EFFECTS.get(taint.effect)
    return None if effect is None else Taint(key=taint.key, value=taint.value or "", effect=effect)


def _ready(node: KubeNode) -> bool:
    """True when the kubelet reports the Ready condition as True."""
    conditions = node.status.conditions if node.status else None
    return any(c.type == "Ready" and c.status == "True" for c in conditions or [])
