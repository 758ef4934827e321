"""Building the objects a controller-less test cluster needs, as its admin.

There is no controller-manager, scheduler or kubelet: workloads never create pods, pods never
report status and PDBs never compute their budget. These helpers create pods bound to nodes,
write pod and PDB status through the status subresources, and wait on watches for changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Namespace, Node, Pod
from lightkube.types import PatchType

from executor.kube.api import PolicyApi, as_json

JsonObject = dict[str, Any]


def unique(prefix: str) -> str:
    """A name no other test of the session uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def timestamp(moment: datetime | None = None) -> str:
    """A Kubernetes timestamp (seconds, UTC)."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def make_namespace(admin: AsyncClient) -> str:
    """A fresh namespace."""
    name = unique("ex")
    await admin.create(Namespace(metadata=ObjectMeta(name=name)))
    return name


async def make_node(admin: AsyncClient, labels: dict[str, str] | None = None) -> str:
    """A fresh node (nothing runs on it but what tests bind to it)."""
    name = unique("node")
    await admin.create(Node(metadata=ObjectMeta(name=name, labels=labels)))
    return name


def _containers() -> list[JsonObject]:
    return [
        {
            "name": "main",
            "image": "registry.invalid/app:1",
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2"}},
        },
        {"name": "sidecar", "image": "registry.invalid/proxy:1"},
    ]


async def make_workload(
    admin: AsyncClient, namespace: str, *, kind: str = "Deployment", replicas: int = 2
) -> JsonObject:
    """A Deployment or StatefulSet whose pods carry `app=<name>`; no pods are created."""
    name = unique(kind.lower())
    labels = {"app": name}
    spec: JsonObject = {
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": _containers()}},
    }
    resource: Any = Deployment if kind == "Deployment" else StatefulSet
    if kind == "StatefulSet":
        spec["serviceName"] = name
    body = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return as_json(await admin.create(resource.from_dict(body)))


async def make_pod(
    admin: AsyncClient,
    namespace: str,
    *,
    labels: dict[str, str] | None = None,
    node: str | None = None,
    owner_kind: str | None = None,
    annotations: dict[str, str] | None = None,
    ready: bool = True,
    grace_seconds: int | None = None,
) -> str:
    """A pod (bound to `node` if given), Running, with its Ready condition set as asked.

    With no kubelet to confirm a graceful shutdown, a bound pod with a grace period stays
    terminating; `grace_seconds=0` lets an eviction remove it at once.
    """
    name = unique("pod")
    metadata: JsonObject = {"name": name, "namespace": namespace, "labels": labels or {}}
    if annotations:
        metadata["annotations"] = annotations
    if owner_kind is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": owner_kind,
                "name": "owner",
                "uid": str(uuid.uuid4()),
                "controller": True,
            }
        ]
    spec: JsonObject = {"containers": [{"name": "main", "image": "registry.invalid/app:1"}]}
    if node is not None:
        spec["nodeName"] = node
    if grace_seconds is not None:
        spec["terminationGracePeriodSeconds"] = grace_seconds
    await admin.create(cast(Pod, Pod.from_dict({"metadata": metadata, "spec": spec})))
    await set_pod_status(admin, namespace, name, ready=ready)
    return name


async def set_pod_status(
    admin: AsyncClient,
    namespace: str,
    name: str,
    *,
    ready: bool = True,
    container_statuses: list[JsonObject] | None = None,
) -> None:
    """Write the status a kubelet would: Running, Ready or not, optional container statuses."""
    status: JsonObject = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if container_statuses is not None:
        status["containerStatuses"] = container_statuses
    await admin.patch(
        Pod.Status, name, {"status": status}, namespace=namespace, patch_type=PatchType.MERGE
    )


def oom_killed_status(when: datetime) -> list[JsonObject]:
    """Container statuses saying `main` was OOM-killed at `when` and restarted."""
    return [
        {
            "name": "main",
            "ready": False,
            "restartCount": 1,
            "image": "registry.invalid/app:1",
            "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {
                "terminated": {
                    "exitCode": 137,
                    "reason": "OOMKilled",
                    "startedAt": timestamp(when),
                    "finishedAt": timestamp(when),
                }
            },
        }
    ]


async def make_pdb(
    admin: AsyncClient,
    policy: PolicyApi,
    namespace: str,
    selector: dict[str, str],
    *,
    min_available: int,
) -> str:
    """A PodDisruptionBudget (in the policy version the server serves)."""
    name = unique("pdb")
    body = {
        "apiVersion": policy.api_version,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": selector}},
    }
    await admin.create(policy.pdb.from_dict(body))
    return name


async def set_pdb_budget(
    admin: AsyncClient,
    policy: PolicyApi,
    namespace: str,
    name: str,
    *,
    disruptions_allowed: int,
    healthy: int,
    desired: int,
) -> None:
    """Write the budget the disruption controller would compute (it is not running here)."""
    pdb = as_json(await admin.get(policy.pdb, name, namespace=namespace))
    status = {
        "observedGeneration": pdb["metadata"]["generation"],
        "disruptionsAllowed": disruptions_allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": healthy,
        "disruptedPods": None,
    }
    await admin.patch(
        policy.pdb.Status,
        name,
        {"status": status},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )


async def make_config_map(admin: AsyncClient, namespace: str, data: dict[str, str]) -> JsonObject:
    """A ConfigMap with `data`."""
    body = {"metadata": {"name": unique("cm"), "namespace": namespace}, "data": data}
    return as_json(await admin.create(ConfigMap.from_dict(body)))


async def wait_for_change(
    admin: AsyncClient,
    resource: Any,
    name: str,
    namespace: str | None,
    *,
    since_version: str,
    condition: Callable[[JsonObject], bool],
) -> JsonObject:
    """Watch one object from `since_version` until `condition` holds for it."""
    watch = admin.watch(
        resource,
        namespace=namespace,
        fields={"metadata.name": name},
        resource_version=since_version,
    )
    try:
        async for _event, obj in watch:
            current = as_json(obj)
            if condition(current):
                return current
    finally:
        await watch.aclose()  # type: ignore[attr-defined]
    raise AssertionError(f"the watch of {name} ended before the condition held")
