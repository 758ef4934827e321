"""Evacuees of a spot notice, and whether the real scheduler rebinds them before the deadline.

`bench.spot_notice` runs on the local control plane (kube-apiserver, kube-scheduler and
kube-controller-manager, with the node keeper as kubelet), so the drain the executor starts is
followed by what a cluster does next: the ReplicaSet controller replaces each evicted pod and
the scheduler binds the replacement to a node that still takes pods.

Before each notice (untimed) a Deployment of `EVACUEES` replicas is placed on the noticed node:
the spare on-demand nodes are cordoned while it is created, so the unchanged scheduler has only
that node to choose, and uncordoned once every replica runs there. After the notice, a pod counts
as rebound when a replacement of the Deployment (a pod not among those on the noticed node) is
bound to another node before the notice's deadline; the share is rebound over evacuated pods,
and the time from the notice's detection to the last evacuee rebound is kept per notice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from lightkube import AsyncClient
from lightkube.models.core_v1 import NodeStatus
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Node, Pod
from lightkube.types import PatchType

from executor.kube.api import as_json

EVACUEES = 2
"""Replicas on each noticed node."""
SPARE_NODES = 2
NODE_CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110"}
PLACED_WITHIN = 60.0
LOOK_EVERY = 0.05
HOSTNAME = "kubernetes.io/hostname"


@dataclass(frozen=True)
class Evacuees:
    """The pods of one Deployment running on a node about to be noticed."""

    namespace: str
    deployment: str
    node: str
    pods: frozenset[str]


async def make_schedulable_node(admin: AsyncClient, prefix: str = "bench") -> str:
    """A node with room for pods (the node keeper reports it Ready)."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    await admin.create(
        Node(
            metadata=ObjectMeta(name=name, labels={HOSTNAME: name}),
            status=NodeStatus(capacity=NODE_CAPACITY),
        )
    )
    return name


async def _set_unschedulable(admin: AsyncClient, nodes: Iterable[str], *, flag: bool) -> None:
    for node in nodes:
        await admin.patch(Node, node, {"spec": {"unschedulable": flag}}, patch_type=PatchType.MERGE)


def _deployment(namespace: str, name: str) -> dict[str, Any]:
    labels = {"app": name}
    container = {
        "name": "main",
        "image": "registry.invalid/app:1",
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": EVACUEES,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 0},
            },
        },
    }


async def _pods(admin: AsyncClient, namespace: str, deployment: str) -> list[dict[str, Any]]:
    return [
        as_json(pod)
        async for pod in admin.list(Pod, namespace=namespace, labels={"app": deployment})
    ]


def _running_on(pod: dict[str, Any], node: str) -> bool:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    deleting = (pod.get("metadata") or {}).get("deletionTimestamp") is not None
    return spec.get("nodeName") == node and status.get("phase") == "Running" and not deleting


async def place_evacuees(
    admin: AsyncClient, namespace: str, node: str, spares: Iterable[str]
) -> Evacuees:
    """A Deployment whose `EVACUEES` replicas all run on `node`."""
    spares = list(spares)
    name = f"evacuee-{uuid.uuid4().hex[:8]}"
    await _set_unschedulable(admin, spares, flag=True)
    try:
        await admin.create(cast(Deployment, Deployment.from_dict(_deployment(namespace, name))))

        async def placed() -> frozenset[str]:
            while True:
                pods = await _pods(admin, namespace, name)
                on_node = [p for p in pods if _running_on(p, node)]
                if len(on_node) == EVACUEES:
                    return frozenset(p["metadata"]["name"] for p in on_node)
                await asyncio.sleep(LOOK_EVERY)

        pods = await asyncio.wait_for(placed(), PLACED_WITHIN)
    finally:
        await _set_unschedulable(admin, spares, flag=False)
    return Evacuees(namespace, name, node, pods)


def _rebound(pods: Iterable[dict[str, Any]], evacuees: Evacuees) -> int:
    bound = [
        p
        for p in pods
        if p["metadata"]["name"] not in evacuees.pods
        and (p.get("spec") or {}).get("nodeName") not in (None, "", evacuees.node)
    ]
    return min(len(bound), len(evacuees.pods))


@dataclass(frozen=True)
class Rebinding:
    """What became of one notice's evacuees by its deadline."""

    rebound: int
    """Evacuees whose replacement was bound to another node before the deadline."""
    all_rebound_ms: float | None
    """From the notice's detection to every evacuee rebound; None if not all were in time."""


async def rebound_by(
    admin: AsyncClient, evacuees: Evacuees, detected: datetime, deadline: datetime
) -> Rebinding:
    """How many of the evacuees have a replacement bound elsewhere by `deadline`."""
    rebound = 0
    while True:
        pods = await _pods(admin, evacuees.namespace, evacuees.deployment)
        now = datetime.now(UTC)
        if now > deadline:
            return Rebinding(rebound, None)
        rebound = _rebound(pods, evacuees)
        if rebound == len(evacuees.pods):
            return Rebinding(rebound, (now - detected).total_seconds() * 1000.0)
        await asyncio.sleep(LOOK_EVERY)


async def remove(admin: AsyncClient, evacuees: Evacuees) -> None:
    """Delete the Deployment and the reclaimed node, as the cloud would after the deadline."""
    await admin.delete(Deployment, evacuees.deployment, namespace=evacuees.namespace)
    await admin.delete(Node, evacuees.node)


def rebound_share(rebound: Iterable[int], evacuated: int) -> float:
    """Rebound pods over evacuated pods (0 when nothing was evacuated)."""
    return sum(rebound) / evacuated if evacuated else 0.0


async def make_namespace(admin: AsyncClient) -> str:
    """A namespace for the bench's evacuees."""
    name = f"bench-evacuees-{uuid.uuid4().hex[:8]}"
    await admin.create(Namespace(metadata=ObjectMeta(name=name)))
    return name
