"""The demo fleet as real Kubernetes objects, for the local control plane.

Nodes keep the trace's capacity and the labels NVIDIA's GPU feature discovery sets
(``nvidia.com/gpu.product``, ``.count``, ``.memory``) plus the cloud's zone, instance type and
capacity type (spot or on-demand). Workloads keep their replica counts, requests, limits and GPU
model selectors; every ``statefulset_every``-th one becomes a StatefulSet, the rest stay
Deployments. The real scheduler then places the Pods; nothing here says where they go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from demo.fleet import Fleet
from protocol.resources import Resources
from protocol.snapshot import Node, PodDisruptionBudget, PodSpecSummary, Workload

Manifest = dict[str, Any]

PDB_API_VERSION = "policy/v1beta1"
"""What kube-apiserver 1.20 (the local control plane) serves; policy/v1 arrives in 1.21."""
DEMO_LABEL = "demo.slicewise.dev/fleet"
MAX_PODS = "110"
"""The kubelet's default Pod capacity per Node (the trace does not say)."""


def quantities(resources: Resources) -> dict[str, str]:
    """A ``Resources`` as a Kubernetes ResourceList."""
    result: dict[str, str] = {}
    if resources.cpu_millis is not None:
        result["cpu"] = f"{resources.cpu_millis}m"
    if resources.memory_bytes is not None:
        result["memory"] = str(resources.memory_bytes)
    result.update({name: str(count) for name, count in resources.extended.items()})
    return result


def node_manifest(node: Node) -> Manifest:
    """A Node object with the trace's capacity and discovery labels (status set on create)."""
    spec: Manifest = {}
    if node.provider_id:
        spec["providerID"] = node.provider_id
    if node.taints:
        spec["taints"] = [t.model_dump(exclude_defaults=True) for t in node.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": {**node.labels, DEMO_LABEL: "true"}},
        "spec": spec,
        "status": {
            "capacity": {**quantities(node.capacity), "pods": MAX_PODS},
            "allocatable": {**quantities(node.allocatable), "pods": MAX_PODS},
        },
    }


def _pod_spec(template: PodSpecSummary) -> Manifest:
    containers = []
    for container in template.containers:
        resources: Manifest = {"requests": quantities(container.requests)}
        # Extended resources (GPUs) cannot be overcommitted: the API requires limit = request.
        extended = Resources(extended=container.requests.extended)
        limits = {**quantities(extended), **quantities(container.limits)}
        if limits:
            resources["limits"] = limits
        containers.append(
            {"name": container.name, "image": container.image, "resources": resources}
        )
    spec: Manifest = {"containers": containers}
    if template.node_selector:
        spec["nodeSelector"] = dict(template.node_selector)
    return spec


def workload_manifest(workload: Workload, kind: str) -> Manifest:
    """A Deployment or StatefulSet of the workload's replicas and pod template."""
    spec: Manifest = {
        "replicas": workload.replicas or 0,
        "selector": {"matchLabels": dict(workload.selector)},
        "template": {
            "metadata": {"labels": dict(workload.template_labels)},
            "spec": _pod_spec(workload.template),
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = workload.name
        # Replicas start together, as the trace's pods ran together.
        spec["podManagementPolicy"] = "Parallel"
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {
            "name": workload.name,
            "namespace": workload.namespace,
            "labels": {**workload.labels, DEMO_LABEL: "true"},
        },
        "spec": spec,
    }


def pdb_manifest(pdb: PodDisruptionBudget) -> Manifest:
    """A PodDisruptionBudget with the fleet's selector and budget."""
    spec: Manifest = {"selector": {"matchLabels": dict(pdb.selector)}}
    if pdb.max_unavailable is not None:
        spec["maxUnavailable"] = pdb.max_unavailable
    if pdb.min_available is not None:
        spec["minAvailable"] = pdb.min_available
    return {
        "apiVersion": PDB_API_VERSION,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": pdb.name, "namespace": pdb.namespace},
        "spec": spec,
    }


def _namespaces(workloads: Iterable[Workload]) -> list[Manifest]:
    names = sorted({w.namespace for w in workloads})
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]


def fleet_manifests(fleet: Fleet, statefulset_every: int = 4) -> list[Manifest]:
    """Every object of the fleet, in an order the API server accepts (namespaces first)."""
    workloads = [
        workload_manifest(w, "StatefulSet" if i % statefulset_every == 0 else "Deployment")
        for i, w in enumerate(fleet.workloads)
    ]
    return [
        *(node_manifest(n) for n in fleet.nodes),
        *_namespaces(fleet.workloads),
        *workloads,
        *(pdb_manifest(p) for p in fleet.pdbs),
    ]
