"""A GPU cluster in the local control plane, run by a (stand-in) NVIDIA GPU Operator.

Nodes carry the labels GPU feature discovery sets; a ClusterPolicy is served by the CRD written
from NVIDIA's documentation; the device plugin and MIG manager are played by
`GpuOperatorStandIn`. The snapshot is converted from the live objects with the agent's own
converters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from lightkube import ApiError, Client
from lightkube.generic_resource import create_global_resource
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, ResourceRequirements
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Node, Pod

from agent.convert.nodes import to_node
from agent.convert.pods import to_pod
from agent.convert.workloads import deployment_to_workload
from devstack.gpu_operator import cluster_policy_crd
from protocol.gpu_operator import (
    MIG_PARTED_CONFIG_KEY,
    ConfigRef,
    GpuOperatorState,
    MigStrategy,
    OperatorConfigMap,
)
from protocol.snapshot import ClusterInfo, ClusterSnapshot, OwnerRef, Provider
from tests.integration.kube.shapes import POOL_LABEL, make_node, unique, wait_for

ClusterPolicy = create_global_resource("nvidia.com", "v1", "ClusterPolicy", "clusterpolicies")
MIG_CONFIG = (
    Path(__file__).resolve().parents[3].parent / "shared/data/mig/mig-parted-config-default.yaml"
)
GFD_LABELS = {
    "node.kubernetes.io/instance-type": "p4d.24xlarge",
    "node.kubernetes.io/capacity": "on-demand",
    "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB",
    "nvidia.com/gpu.count": "8",
    "nvidia.com/gpu.memory": "40960",
    "nvidia.com/mig.config": "all-disabled",
}
CONTAINER = "serve"


def install_cluster_policy_crd(cluster: Client) -> None:
    """Serve nvidia.com/v1 ClusterPolicy (once per control plane)."""
    try:
        crd = cast(
            CustomResourceDefinition, CustomResourceDefinition.from_dict(cluster_policy_crd())
        )
        cluster.create(crd)
    except ApiError as error:
        if error.status.code != 409:
            raise
    cluster.wait(
        CustomResourceDefinition, "clusterpolicies.nvidia.com", for_conditions=["Established"]
    )


@dataclass(frozen=True)
class GpuOperatorSetup:
    """The operator objects of one test: its ClusterPolicy and its namespace."""

    cluster_policy: str
    namespace: str
    strategy: MigStrategy
    mig_config_map: str = "default-mig-parted-config"


def install_operator(
    cluster: Client, strategy: MigStrategy, mig_config_text: str | None = None
) -> GpuOperatorSetup:
    """A ClusterPolicy of this test's own and its mig-parted ConfigMap in a fresh namespace."""
    setup = GpuOperatorSetup(unique("cluster-policy"), unique("gpu-operator"), strategy)
    cluster.create(Namespace(metadata=ObjectMeta(name=setup.namespace)))
    cluster.create(
        ConfigMap(
            metadata=ObjectMeta(name=setup.mig_config_map, namespace=setup.namespace),
            data={MIG_PARTED_CONFIG_KEY: mig_config_text or MIG_CONFIG.read_text()},
        )
    )
    cluster.create(
        ClusterPolicy.from_dict(
            {
                "apiVersion": "nvidia.com/v1",
                "kind": "ClusterPolicy",
                "metadata": {"name": setup.cluster_policy},
                "spec": {
                    "devicePlugin": {"enabled": True},
                    "mig": {"strategy": str(strategy)},
                    "migManager": {
                        "enabled": True,
                        "config": {"name": setup.mig_config_map, "default": "all-disabled"},
                    },
                },
            }
        )
    )
    return setup


def gpu_nodes(cluster: Client, pool: str, count: int) -> list[str]:
    """`count` nodes with eight A100 40GB each, labelled as GPU feature discovery does."""
    return sorted(make_node(cluster, pool, labels=GFD_LABELS, gpus=8) for _ in range(count))


def gpu_deployment(
    cluster: Client, namespace: str, pool: str, replicas: int, gpu_resource: str = "nvidia.com/gpu"
) -> str:
    """A Deployment of one-GPU replicas pinned to `pool`; returns its name (and app label)."""
    app = unique("gpu")
    one = {gpu_resource: "1"}
    cluster.create(
        Deployment(
            metadata=ObjectMeta(name=app, namespace=namespace),
            spec=DeploymentSpec(
                replicas=replicas,
                selector=LabelSelector(matchLabels={"app": app}),
                template=PodTemplateSpec(
                    metadata=ObjectMeta(labels={"app": app}),
                    spec=PodSpec(
                        nodeSelector={POOL_LABEL: pool},
                        containers=[
                            Container(
                                name=CONTAINER,
                                image="registry.invalid/none:0",
                                resources=ResourceRequirements(requests=one, limits=one),
                            )
                        ],
                    ),
                ),
            ),
        )
    )
    return app


def settled(cluster: Client, namespace: str, app: str, replicas: int) -> bool:
    """Every replica is Ready and the Deployment's status says so."""
    deployment = cluster.get(Deployment, app, namespace=namespace)
    status = deployment.status
    return bool(
        status
        and status.readyReplicas == replicas
        and status.updatedReplicas == replicas
        and (status.replicas or 0) == replicas
        and status.observedGeneration
        == (deployment.metadata.generation if deployment.metadata else None)
    )


def snapshot(
    cluster: Client, namespace: str, nodes: list[str], setup: GpuOperatorSetup
) -> ClusterSnapshot:
    """The cluster as the agent would report it: the test's nodes, pods, Deployments, operator."""
    pods = []
    for listed in cluster.list(Pod, namespace=namespace):
        pod = to_pod(listed)
        app = pod.labels.get("app", "")
        pods.append(pod.model_copy(update={"owners": [OwnerRef(kind="Deployment", name=app)]}))
    mig = cluster.get(ConfigMap, setup.mig_config_map, namespace=setup.namespace)
    policy: dict[str, Any] = dict(cluster.get(ClusterPolicy, setup.cluster_policy))
    operator = GpuOperatorState(
        cluster_policy=setup.cluster_policy,
        namespace=setup.namespace,
        mig_strategy=setup.strategy,
        device_plugin_config=ConfigRef(
            **((policy.get("spec") or {}).get("devicePlugin") or {}).get("config", {})
        ),
        mig_manager_config=ConfigRef(name=setup.mig_config_map, default="all-disabled"),
        config_maps=[
            OperatorConfigMap(
                namespace=setup.namespace,
                name=setup.mig_config_map,
                resource_version=(mig.metadata.resourceVersion or "") if mig.metadata else "",
                data=dict(mig.data or {}),
            )
        ],
    )
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(
            cluster_id=uuid.uuid4(), name="local", provider=Provider.AWS, region="us-east-1"
        ),
        taken_at=datetime.now(UTC),
        nodes=[to_node(cluster.get(Node, name)) for name in nodes],
        pods=pods,
        workloads=[
            deployment_to_workload(d) for d in cluster.list(Deployment, namespace=namespace)
        ],
        gpu_operator=operator,
    )


def wait_settled(cluster: Client, namespace: str, app: str, replicas: int) -> None:
    """Wait until every replica of the Deployment is Ready."""
    wait_for(lambda: settled(cluster, namespace, app, replicas), f"{app} to settle", 120)
