"""Kubernetes manifests of live objects, rebuilt from the inventory's stored protocol models.

The inventory keeps what the agent reported (a `Workload`, `Node` or `PodDisruptionBudget` of
`protocol.snapshot`); people read and GitOps tools patch Kubernetes YAML. These functions give
the fields a recommendation can change in their Kubernetes spelling and place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from protocol.quantity import format_cpu, format_memory
from protocol.resources import Resources
from protocol.snapshot import (
    Node,
    PodDisruptionBudget,
    PodSpecSummary,
    Toleration,
    Workload,
    WorkloadKind,
)

Manifest = dict[str, Any]
_UNSAFE_FILE_CHARACTERS = re.compile(r"[^a-z0-9.-]+")


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Which Kubernetes object a manifest or a patch is about."""

    api_version: str
    kind: str
    namespace: str
    """Empty for cluster-scoped objects."""
    name: str

    @property
    def file_stem(self) -> str:
        """A file name stem unique per object: `deployment-shop-web`.

        Names come from a customer's cluster and the wire contract does not hold them to
        Kubernetes' DNS rules, so anything but `[a-z0-9.-]` is replaced and a short hash of the
        real name keeps such stems unique; a stem never holds a path separator or `..`.
        """
        parts = [self.kind.lower(), self.namespace, self.name]
        stem = "-".join(part for part in parts if part)
        safe = _UNSAFE_FILE_CHARACTERS.sub("-", stem.lower()).strip("-.")
        safe = re.sub(r"[-.]{2,}", "-", safe)
        if safe == stem:
            return stem
        digest = hashlib.sha256(stem.encode()).hexdigest()[:8]
        return f"{safe[:180]}-{digest}"

    @property
    def group(self) -> str:
        """The API group (empty for the core group)."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        """The API version without its group."""
        return self.api_version.rpartition("/")[2]

    def metadata(self) -> Manifest:
        """`metadata` naming this object."""
        meta: Manifest = {"name": self.name}
        if self.namespace:
            meta["namespace"] = self.namespace
        return meta

    def stub(self) -> Manifest:
        """The smallest manifest naming this object (the head of every patch)."""
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": self.metadata()}


def workload_key(kind: WorkloadKind | str, namespace: str, name: str) -> ObjectKey:
    """The key of a workload controller."""
    api = "batch/v1" if str(kind) == WorkloadKind.JOB.value else "apps/v1"
    return ObjectKey(api, str(kind), namespace, name)


def node_key(name: str) -> ObjectKey:
    """The key of a node."""
    return ObjectKey("v1", "Node", "", name)


def pdb_key(namespace: str, name: str) -> ObjectKey:
    """The key of a PodDisruptionBudget."""
    return ObjectKey("policy/v1", "PodDisruptionBudget", namespace, name)


def config_map_key(namespace: str, name: str) -> ObjectKey:
    """The key of a ConfigMap."""
    return ObjectKey("v1", "ConfigMap", namespace, name)


def resource_list(resources: Resources) -> Manifest:
    """A ResourceList in Kubernetes quantities: `{"cpu": "250m", "memory": "512Mi"}`."""
    listed: Manifest = {}
    if resources.cpu_millis is not None:
        listed["cpu"] = format_cpu(resources.cpu_millis)
    if resources.memory_bytes is not None:
        listed["memory"] = format_memory(resources.memory_bytes)
    for name, count in sorted(resources.extended.items()):
        listed[name] = str(count)
    return listed


def toleration(item: Toleration) -> Manifest:
    """A toleration in Kubernetes spelling."""
    spelled: Manifest = {}
    if item.key is not None:
        spelled["key"] = item.key
    spelled["operator"] = item.operator
    if item.value is not None:
        spelled["value"] = item.value
    if item.effect is not None:
        spelled["effect"] = item.effect
    if item.toleration_seconds is not None:
        spelled["tolerationSeconds"] = item.toleration_seconds
    return spelled


def _pod_spec(spec: PodSpecSummary) -> Manifest:
    containers = []
    for container in spec.containers:
        entry: Manifest = {"name": container.name}
        if container.image:
            entry["image"] = container.image
        resources: Manifest = {}
        if requests := resource_list(container.requests):
            resources["requests"] = requests
        if limits := resource_list(container.limits):
            resources["limits"] = limits
        if resources:
            entry["resources"] = resources
        containers.append(entry)
    pod: Manifest = {"containers": containers}
    if spec.node_selector:
        pod["nodeSelector"] = dict(sorted(spec.node_selector.items()))
    if spec.tolerations:
        pod["tolerations"] = [toleration(t) for t in spec.tolerations]
    if spec.affinity:
        pod["affinity"] = dict(spec.affinity)
    if spec.topology_spread_constraints:
        pod["topologySpreadConstraints"] = [dict(c) for c in spec.topology_spread_constraints]
    if spec.priority_class:
        pod["priorityClassName"] = spec.priority_class
    if spec.termination_grace_seconds != 30:
        pod["terminationGracePeriodSeconds"] = spec.termination_grace_seconds
    return pod


def workload_manifest(workload: Workload) -> Manifest:
    """The workload controller as Kubernetes YAML would show the fields we know."""
    key = workload_key(workload.kind, workload.namespace, workload.name)
    manifest = key.stub()
    if workload.labels:
        manifest["metadata"]["labels"] = dict(sorted(workload.labels.items()))
    if workload.annotations:
        manifest["metadata"]["annotations"] = dict(sorted(workload.annotations.items()))
    spec: Manifest = {}
    if workload.replicas is not None:
        spec["parallelism" if workload.kind is WorkloadKind.JOB else "replicas"] = workload.replicas
    if workload.selector:
        spec["selector"] = {"matchLabels": dict(sorted(workload.selector.items()))}
    template: Manifest = {}
    if workload.template_labels:
        template["metadata"] = {"labels": dict(sorted(workload.template_labels.items()))}
    template["spec"] = _pod_spec(workload.template)
    spec["template"] = template
    manifest["spec"] = spec
    return manifest


def node_manifest(node: Node) -> Manifest:
    """The node's labels, taints and schedulability in Kubernetes spelling."""
    manifest = node_key(node.name).stub()
    if node.labels:
        manifest["metadata"]["labels"] = dict(sorted(node.labels.items()))
    spec: Manifest = {}
    if node.unschedulable:
        spec["unschedulable"] = True
    if node.taints:
        spec["taints"] = [
            {"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect}
            for t in node.taints
        ]
    manifest["spec"] = spec
    return manifest


def pdb_manifest(pdb: PodDisruptionBudget) -> Manifest:
    """The PodDisruptionBudget's spec in Kubernetes spelling."""
    manifest = pdb_key(pdb.namespace, pdb.name).stub()
    spec: Manifest = {"selector": {"matchLabels": dict(sorted(pdb.selector.items()))}}
    if pdb.min_available is not None:
        spec["minAvailable"] = pdb.min_available
    if pdb.max_unavailable is not None:
        spec["maxUnavailable"] = pdb.max_unavailable
    manifest["spec"] = spec
    return manifest
