"""A cluster for the agent footprint bench, shaped by the Alibaba GPU trace.

Nodes come from a trace node list (CPU, memory, GPU count and model become capacity and GFD
labels), pods from a trace pod list (CPU, memory and whole-GPU requests). Pods of one resource
shape become replicas of one Deployment (through a ReplicaSet, as a controller would make them)
and are placed first-fit on the nodes; pods that fit nowhere stay Pending, as in the trace.
Everything is created through the API server by a cluster admin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import Namespace, Node, Pod

from bench.snapshots import TraceNode, TracePod

NAMESPACE = "trace"
MAX_REPLICAS = 50
CONCURRENCY = 16
T = TypeVar("T")


@dataclass
class Population:
    """What was created."""

    nodes: int
    pods: int
    scheduled_pods: int
    deployments: int


def _kube(model: type[T], manifest: dict[str, Any]) -> T:
    return msgspec.convert(manifest, type=model)


def node_manifest(node: TraceNode) -> Node:
    """A Ready node with the trace node's capacity and GFD labels for its GPUs."""
    capacity = {"cpu": f"{node.cpu_milli}m", "memory": f"{node.memory_mib}Mi", "pods": "110"}
    labels = {"node.kubernetes.io/instance-type": f"trace-{node.model or 'cpu'}"}
    if node.gpus:
        capacity["nvidia.com/gpu"] = str(node.gpus)
        labels |= {"nvidia.com/gpu.product": node.model, "nvidia.com/gpu.count": str(node.gpus)}
    return _kube(
        Node,
        {
            "metadata": {"name": node.name, "labels": labels},
            "status": {
                "capacity": capacity,
                "allocatable": capacity,
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        },
    )


def _container(pod: TracePod) -> dict[str, Any]:
    requests = {"cpu": f"{pod.cpu_milli}m", "memory": f"{pod.memory_mib}Mi"}
    limits: dict[str, str] = {}
    if pod.num_gpu and pod.gpu_milli >= 1000:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(pod.num_gpu)
    return {
        "name": "main",
        "image": "registry.invalid/trace:1",
        "resources": {"requests": requests, "limits": limits},
    }


def _shape(pod: TracePod) -> tuple[int, int, int, int]:
    return (pod.cpu_milli, pod.memory_mib, pod.num_gpu, pod.gpu_milli)


def place(nodes: list[TraceNode], pods: list[TracePod]) -> dict[str, str]:
    """First-fit placement by CPU, memory and whole GPUs: pod name -> node name."""
    room = {n.name: [n.cpu_milli, n.memory_mib, n.gpus] for n in nodes}
    placed: dict[str, str] = {}
    for pod in pods:
        gpus = pod.num_gpu if pod.gpu_milli >= 1000 else 0
        for name, (cpu, memory, free_gpus) in room.items():
            if pod.cpu_milli <= cpu and pod.memory_mib <= memory and gpus <= free_gpus:
                room[name] = [cpu - pod.cpu_milli, memory - pod.memory_mib, free_gpus - gpus]
                placed[pod.name] = name
                break
    return placed


async def populate(admin: AsyncClient, nodes: list[TraceNode], pods: list[TracePod]) -> Population:
    """Create nodes, Deployments, ReplicaSets and pods (owned and placed) in the cluster."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def limited(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    async def all_of(jobs: Iterable[Awaitable[Any]]) -> list[Any]:
        return await asyncio.gather(*(limited(j) for j in jobs))

    await admin.create(Namespace(metadata=ObjectMeta(name=NAMESPACE)))
    await all_of(admin.create(node_manifest(n)) for n in nodes)
    placement = place(nodes, pods)
    groups: dict[tuple[int, int, int, int], list[TracePod]] = {}
    for pod in pods:
        groups.setdefault(_shape(pod), []).append(pod)
    chunks = [
        members[i : i + MAX_REPLICAS]
        for members in groups.values()
        for i in range(0, len(members), MAX_REPLICAS)
    ]
    names = [f"shape-{i:04d}" for i in range(len(chunks))]
    deployments = await all_of(
        admin.create(_deployment(name, members))
        for name, members in zip(names, chunks, strict=True)
    )
    replicasets = await all_of(
        admin.create(_replicaset(name, members, d.metadata.uid))
        for name, members, d in zip(names, chunks, deployments, strict=True)
    )
    await all_of(
        admin.create(_pod(pod, f"{name}-rs", rs.metadata.uid, placement.get(pod.name)))
        for name, members, rs in zip(names, chunks, replicasets, strict=True)
        for pod in members
    )
    return Population(len(nodes), len(pods), len(placement), len(chunks))


def _template(name: str, pod: TracePod) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": name}}, "spec": {"containers": [_container(pod)]}}


def _deployment(name: str, members: list[TracePod]) -> Deployment:
    return _kube(
        Deployment,
        {
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "replicas": len(members),
                "selector": {"matchLabels": {"app": name}},
                "template": _template(name, members[0]),
            },
        },
    )


def _owner(kind: str, name: str, uid: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": True}]


def _replicaset(name: str, members: list[TracePod], owner_uid: str) -> ReplicaSet:
    return _kube(
        ReplicaSet,
        {
            "metadata": {
                "name": f"{name}-rs",
                "namespace": NAMESPACE,
                "ownerReferences": _owner("Deployment", name, owner_uid),
            },
            "spec": {
                "replicas": len(members),
                "selector": {"matchLabels": {"app": name}},
                "template": _template(name, members[0]),
            },
        },
    )


def _pod(pod: TracePod, rs_name: str, rs_uid: str, node: str | None) -> Pod:
    spec: dict[str, Any] = {"containers": [_container(pod)]}
    if node is not None:
        spec["nodeName"] = node
    return _kube(
        Pod,
        {
            "metadata": {
                "name": pod.name,
                "namespace": NAMESPACE,
                "labels": {"app": rs_name.removesuffix("-rs")},
                "ownerReferences": _owner("ReplicaSet", rs_name, rs_uid),
            },
            "spec": spec,
        },
    )
