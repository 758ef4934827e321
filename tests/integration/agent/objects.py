"""Kubernetes objects as a cluster would hold them, built for the agent's integration tests.

There is no controller-manager in the harness: tests create the ReplicaSets and Pods that
controllers would, with the owner references controllers set.
"""

from __future__ import annotations

from typing import Any

from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Node, Pod

from tests.unit.agent.kube_objects import kube

# The harness runs Kubernetes 1.20, which serves PDBs and HPAs only at these versions.
PdbV1beta1 = create_namespaced_resource(
    "policy", "v1beta1", "PodDisruptionBudget", "poddisruptionbudgets"
)
HpaV2beta2 = create_namespaced_resource(
    "autoscaling", "v2beta2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"
)

GPU_LABELS = {
    "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
    "nvidia.com/gpu.count": "8",
    "nvidia.com/gpu.memory": "81920",
    "nvidia.com/mig.config": "all-disabled",
    "nvidia.com/mig.config.state": "success",
    "node.kubernetes.io/instance-type": "p4d.24xlarge",
    "node.kubernetes.io/capacity": "spot",
}


def node(name: str, labels: dict[str, str] | None = None, gpus: int = 8) -> Node:
    """A Ready node with CPU, memory and GPU capacity."""
    capacity = {"cpu": "96", "memory": "1152Gi", "pods": "110"}
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
    return kube(
        Node,
        {
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"providerID": f"aws:///us-east-1a/i-{name}"},
            "status": {
                "capacity": capacity,
                "allocatable": capacity,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            },
        },
    )


def _template(app: str, cpu: str = "500m", gpus: int = 0) -> dict[str, Any]:
    requests: dict[str, str] = {"cpu": cpu, "memory": "1Gi"}
    limits: dict[str, str] = {"memory": "1Gi"}
    if gpus:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(gpus)
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": f"registry.invalid/{app}:1",
                    "resources": {"requests": requests, "limits": limits},
                }
            ]
        },
    }


def deployment(namespace: str, name: str, replicas: int = 2, cpu: str = "500m") -> Deployment:
    """A Deployment whose template asks for `cpu` and one GPU."""
    return kube(
        Deployment,
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": _template(name, cpu, gpus=1),
            },
        },
    )


def owned_by(kind: str, name: str, uid: str, api_version: str = "apps/v1") -> list[dict[str, Any]]:
    """A controller owner reference, as a controller sets it."""
    return [
        {
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def replicaset(namespace: str, name: str, app: str, owner_uid: str) -> ReplicaSet:
    """The ReplicaSet a Deployment controller would create."""
    return kube(
        ReplicaSet,
        {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "ownerReferences": owned_by("Deployment", app, owner_uid),
            },
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": app}},
                "template": _template(app, gpus=1),
            },
        },
    )


def pod(
    namespace: str,
    name: str,
    *,
    app: str = "solo",
    node_name: str | None = None,
    owners: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
) -> Pod:
    """A pod (scheduled when `node_name` is given) asking for 500m CPU and 1 GiB."""
    template = _template(app)
    spec = dict(template["spec"])
    if node_name:
        spec["nodeName"] = node_name
    if volumes:
        spec["volumes"] = volumes
    return kube(
        Pod,
        {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"app": app},
                "ownerReferences": owners or [],
            },
            "spec": spec,
        },
    )


def statefulset(namespace: str, name: str) -> StatefulSet:
    """A StatefulSet of three."""
    return kube(
        StatefulSet,
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": 3,
                "serviceName": name,
                "selector": {"matchLabels": {"app": name}},
                "template": _template(name),
            },
        },
    )


def daemonset(namespace: str, name: str) -> DaemonSet:
    """A DaemonSet (one pod per node)."""
    return kube(
        DaemonSet,
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": _template(name, "100m"),
            },
        },
    )


def job(namespace: str, name: str) -> Job:
    """A Job running four pods at a time."""
    template = _template(name)
    template["spec"] = {**template["spec"], "restartPolicy": "Never"}
    return kube(
        Job,
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"parallelism": 4, "template": template},
        },
    )


def pdb(namespace: str, name: str, app: str) -> Any:
    """A PodDisruptionBudget keeping half the app's pods (policy/v1beta1)."""
    return PdbV1beta1(
        apiVersion="policy/v1beta1",
        kind="PodDisruptionBudget",
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec={"minAvailable": "50%", "selector": {"matchLabels": {"app": app}}},
    )


def hpa(namespace: str, name: str, target: str) -> Any:
    """An HPA scaling a Deployment between 2 and 10 on CPU (autoscaling/v2beta2)."""
    return HpaV2beta2(
        apiVersion="autoscaling/v2beta2",
        kind="HorizontalPodAutoscaler",
        metadata=ObjectMeta(name=name, namespace=namespace),
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    )
