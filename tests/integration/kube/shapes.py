"""Small builders of cluster objects for the control-plane tests, and a wait on conditions.

Each test makes its own pool of Nodes (a unique ``pool`` label) and pins its Pods to it with a
nodeSelector, so tests sharing one scheduler never place Pods on each other's Nodes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from lightkube import Client
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import (
    Container,
    NodeSpec,
    NodeStatus,
    PodSpec,
    PodTemplateSpec,
    ResourceRequirements,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Node, Pod

POOL_LABEL = "test.slicewise.dev/pool"
CAPACITY_LABEL = "node.kubernetes.io/capacity"
WAIT_SECONDS = 60.0

T = TypeVar("T")


def unique(prefix: str) -> str:
    """A name unique to this run."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS) -> T:
    """Poll ``probe`` until it returns something truthy, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def make_node(
    client: Client,
    pool: str,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Taint] = (),
    gpus: int = 0,
) -> str:
    """Create a Node of ``pool`` (8 CPUs, 32 GiB, ``gpus`` GPUs) and return its name."""
    capacity = {"cpu": "8", "memory": "32Gi", "pods": "110"}
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
    name = unique(pool)
    client.create(
        Node(
            metadata=ObjectMeta(
                name=name,
                labels={POOL_LABEL: pool, "kubernetes.io/hostname": name, **(labels or {})},
            ),
            spec=NodeSpec(taints=list(taints) or None),
            status=NodeStatus(capacity=capacity),
        )
    )
    return name


def make_namespace(client: Client) -> str:
    """Create a namespace of its own for one test."""
    name = unique("ns")
    client.create(Namespace(metadata=ObjectMeta(name=name)))
    return name


def make_deployment(
    client: Client,
    namespace: str,
    pool: str,
    replicas: int,
    *,
    node_selector: Mapping[str, str] | None = None,
    tolerations: Sequence[Toleration] = (),
    spread_over: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> str:
    """Create a Deployment whose Pods must land in ``pool``; return its app label.

    ``spread_over`` names a Node label the replicas must spread over evenly (maxSkew 1).
    """
    app = unique("app")
    spread = (
        [
            TopologySpreadConstraint(
                maxSkew=1,
                topologyKey=spread_over,
                whenUnsatisfiable="DoNotSchedule",
                labelSelector=LabelSelector(matchLabels={"app": app}),
            )
        ]
        if spread_over
        else None
    )
    client.create(
        Deployment(
            metadata=ObjectMeta(name=app, namespace=namespace),
            spec=DeploymentSpec(
                replicas=replicas,
                selector=LabelSelector(matchLabels={"app": app}),
                template=PodTemplateSpec(
                    metadata=ObjectMeta(labels={"app": app}, annotations=dict(annotations or {})),
                    spec=PodSpec(
                        nodeSelector={POOL_LABEL: pool, **(node_selector or {})},
                        tolerations=list(tolerations) or None,
                        topologySpreadConstraints=spread,
                        containers=[
                            Container(
                                name="main",
                                image="registry.invalid/none:0",
                                resources=ResourceRequirements(
                                    requests={"cpu": "100m", "memory": "64Mi"}
                                ),
                            )
                        ],
                    ),
                ),
            ),
        )
    )
    return app


def pods_of(client: Client, namespace: str, app: str) -> list[Pod]:
    """The Pods (not terminating) carrying ``app=<app>``."""
    pods = client.list(Pod, namespace=namespace, labels={"app": app})
    return [p for p in pods if p.metadata is not None and p.metadata.deletionTimestamp is None]


def bound_pods(client: Client, namespace: str, app: str, count: int) -> list[Pod] | None:
    """The app's Pods once exactly ``count`` exist and all are bound to a Node; else None."""
    pods = pods_of(client, namespace, app)
    if len(pods) == count and all(p.spec is not None and p.spec.nodeName for p in pods):
        return pods
    return None


def node_of(pod: Pod) -> str:
    """The Node a Pod is bound to."""
    assert pod.spec is not None
    assert pod.spec.nodeName is not None
    return pod.spec.nodeName


def as_dict(obj: Any) -> dict[str, Any]:
    """A lightkube object as the JSON the API server sent."""
    result: dict[str, Any] = obj.to_dict()
    return result
