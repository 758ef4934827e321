"""GPU pool plans applied by the real executor to a GPU Operator cluster in the local control plane.

The plan is computed by the product's recommender from a snapshot of the live objects; the
executor applies it through the kube-apiserver as a least-privilege identity; the real scheduler
and controller-manager move the workloads; the device plugin and MIG manager are played by the
`GpuOperatorStandIn` (it advertises the shared or partitioned GPUs and reports
`nvidia.com/mig.config.state`, as the operator's daemons do).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from lightkube import Client
from lightkube.models.core_v1 import Container, PodSpec, ResourceRequirements, Toleration
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Node, Pod

from auth.instruction_signing import InstructionKeyring, generate_signing_key, instruction_body_for
from devstack.kube.control_plane import KubeControlPlane
from devstack.kube.gpu_operator_stand_in import GpuOperatorStandIn
from executor.drain import Backoff
from executor.execution import InstructionExecutor, VerificationWindow
from executor.kube.api import KubeObjects, discover_policy_api
from executor.readiness import PodHealthCheck
from protocol.gpu_operator import MIG_PARTED_CONFIG_KEY, MigStrategy
from protocol.instruction import Outcome
from protocol.recommendation import Recommendation
from recommender.gpu.pools.recommend import recommend_gpu_pools
from recommender.gpu.usage_profile import GpuUsageProfile, profile_usage
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from recommender.usage.key import ContainerKey
from tests.integration.kube.gpu_pool_cluster import (
    CONTAINER,
    ClusterPolicy,
    GpuOperatorSetup,
    gpu_deployment,
    gpu_nodes,
    install_cluster_policy_crd,
    install_operator,
    snapshot,
    wait_settled,
)
from tests.integration.kube.shapes import (
    POOL_LABEL,
    make_namespace,
    node_of,
    pods_of,
    unique,
    wait_for,
)

pytestmark = pytest.mark.kube

GIB = 2**30
REPLICAS = 8
EXECUTOR_RULES: list[dict[str, list[str]]] = [
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch", "delete"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["list"]},
    {"apiGroups": ["nvidia.com"], "resources": ["clusterpolicies"], "verbs": ["get", "patch"]},
]
"""The chart's grants for the actions of a GPU pool plan (and the policy-API probe)."""


@pytest.fixture(scope="module")
def gpu_cluster(control_plane: KubeControlPlane) -> Iterator[Client]:
    """An admin client of the control plane with the ClusterPolicy CRD installed."""
    with control_plane.admin_client() as client:
        install_cluster_policy_crd(client)
        yield client


def _bursty() -> GpuUsageProfile:
    """Idle but for short 35 % bursts in 6 GiB: two time-sliced replicas per GPU."""
    duty = np.array([0.0] * 190 + [0.35] * 10)
    return profile_usage(duty, np.full(duty.size, 6 * GIB))


def _small_steady() -> GpuUsageProfile:
    """A steady 10 % duty in 8 GiB: one MIG 1g.10gb slice (four per A100 40GB)."""
    return profile_usage(np.full(200, 0.1), np.full(200, 8 * GIB))


def _plan(
    cluster: Client,
    *,
    namespace: str,
    app: str,
    nodes: list[str],
    setup: GpuOperatorSetup,
    profile: GpuUsageProfile,
) -> Recommendation:
    wait_settled(cluster, namespace, app, REPLICAS)
    found = recommend_gpu_pools(
        snapshot(cluster, namespace, nodes, setup),
        {ContainerKey(namespace, "Deployment", app, CONTAINER): profile},
        PriceBook(catalogues=bundled_catalogues()),
        datetime.now(UTC),
    )
    assert len(found) == 1, "the plan should empty a GPU node"
    return found[0]


async def _apply(plane: KubeControlPlane, recommendation: Recommendation) -> Any:
    """Sign the plan's change set for a cluster and let the real executor carry it out."""
    identity = plane.apiserver.mint_identity(EXECUTOR_RULES, name=unique("gpu-executor"))
    keyring = InstructionKeyring(generate_signing_key())
    body = instruction_body_for(
        recommendation.change_set,
        tenant_id=uuid.uuid4(),
        cluster_id=recommendation.cluster_id,
        issued_at=datetime.now(UTC),
        ttl=timedelta(minutes=30),
    )
    client = identity.async_client()
    try:
        kube = KubeObjects(client, await discover_policy_api(client))
        executor = InstructionExecutor(
            kube,
            [PodHealthCheck()],
            window=VerificationWindow(seconds=30.0, poll_seconds=0.5),
            backoff=Backoff(initial_seconds=0.2, max_seconds=1.0),
        )
        return await executor.execute(keyring.sign(body))
    finally:
        await client.close()


def _pools(recommendation: Recommendation) -> dict[str, str]:
    pools: list[dict[str, Any]] = recommendation.evidence["pools"]  # type: ignore[assignment]
    return {p["node"]: p["label"] for p in pools}


def _emptied(recommendation: Recommendation) -> list[str]:
    emptied: list[str] = recommendation.evidence["nodes_emptied"]  # type: ignore[assignment]
    return emptied


def _on_pools(cluster: Client, namespace: str, app: str, pools: set[str]) -> bool:
    pods = pods_of(cluster, namespace, app)
    return len(pods) == REPLICAS and all(
        p.spec is not None and p.spec.nodeName in pools and p.status and p.status.phase == "Running"
        for p in pods
    )


def _labels(cluster: Client, node: str) -> dict[str, str]:
    found = cluster.get(Node, node)
    return dict((found.metadata.labels if found.metadata else None) or {})


async def test_time_slicing_plan_creates_the_config_points_the_policy_and_moves_the_pods(
    gpu_cluster: Client, control_plane: KubeControlPlane
) -> None:
    """ConfigMap created, ClusterPolicy pointed, pool relabelled, pods rebound, a node emptied."""
    pool = unique("ts")
    nodes = gpu_nodes(gpu_cluster, pool, 2)
    namespace = make_namespace(gpu_cluster)
    setup = install_operator(gpu_cluster, MigStrategy.SINGLE)
    app = gpu_deployment(gpu_cluster, namespace, pool, REPLICAS)
    with GpuOperatorStandIn(setup.cluster_policy, setup.namespace, nodes).running(
        control_plane.admin
    ):
        plan = _plan(
            gpu_cluster, namespace=namespace, app=app, nodes=nodes, setup=setup, profile=_bursty()
        )
        result = await _apply(control_plane, plan)
        assert result.outcome is Outcome.APPLIED, result.reason
        pools = _pools(plan)
        wait_for(
            lambda: _on_pools(gpu_cluster, namespace, app, set(pools)), "pods on the pool", 180
        )
    policy = dict(gpu_cluster.get(ClusterPolicy, setup.cluster_policy))
    config = policy["spec"]["devicePlugin"]["config"]
    created = gpu_cluster.get(ConfigMap, config["name"], namespace=setup.namespace)
    assert "slicewise-timeslice-2" in (created.data or {})
    assert config["default"] in (created.data or {})
    for node, label in pools.items():
        key, value = label.split("=")
        assert _labels(gpu_cluster, node)[key] == value
    for node in _emptied(plan):
        assert gpu_cluster.get(Node, node).spec.unschedulable  # type: ignore[union-attr]
        assert not any(node_of(p) == node for p in pods_of(gpu_cluster, namespace, app))


def _gpu_pod(
    cluster: Client, namespace: str, pool: str, tolerations: list[Toleration] | None = None
) -> str:
    """A bare one-GPU pod that may run on the nodes of `pool`."""
    name = unique("other")
    one = {"nvidia.com/gpu": "1"}
    cluster.create(
        Pod(
            metadata=ObjectMeta(name=name, namespace=namespace),
            spec=PodSpec(
                nodeSelector={POOL_LABEL: pool},
                tolerations=tolerations,
                containers=[
                    Container(
                        name="main",
                        image="registry.invalid/none:0",
                        resources=ResourceRequirements(requests=one, limits=one),
                    )
                ],
            ),
        )
    )
    return name


def _unschedulable_for(cluster: Client, namespace: str, pod: str) -> str | None:
    """The scheduler's message once it has found no node for the pod."""
    found = cluster.get(Pod, pod, namespace=namespace)
    conditions = (found.status.conditions if found.status else None) or []
    for condition in conditions:
        if condition.type == "PodScheduled" and condition.reason == "Unschedulable":
            return condition.message or "unschedulable"
    return None


def _bound_to(cluster: Client, namespace: str, pod: str) -> str | None:
    found = cluster.get(Pod, pod, namespace=namespace)
    return found.spec.nodeName if found.spec else None


async def test_tainted_pool_takes_the_moved_pods_but_not_an_unrelated_gpu_pod(
    gpu_cluster: Client, control_plane: KubeControlPlane
) -> None:
    """An intolerant GPU pod finds no node beside the moved pods; a tolerant one binds there."""
    pool = unique("taint")
    nodes = gpu_nodes(gpu_cluster, pool, 2)
    namespace = make_namespace(gpu_cluster)
    setup = install_operator(gpu_cluster, MigStrategy.SINGLE)
    app = gpu_deployment(gpu_cluster, namespace, pool, REPLICAS)
    with GpuOperatorStandIn(setup.cluster_policy, setup.namespace, nodes).running(
        control_plane.admin
    ):
        plan = _plan(
            gpu_cluster, namespace=namespace, app=app, nodes=nodes, setup=setup, profile=_bursty()
        )
        result = await _apply(control_plane, plan)
        assert result.outcome is Outcome.APPLIED, result.reason
        pools = _pools(plan)
        wait_for(
            lambda: _on_pools(gpu_cluster, namespace, app, set(pools)), "pods on the pool", 180
        )
        (value,) = {label.split("=")[1] for label in pools.values()}
        unrelated = _gpu_pod(gpu_cluster, namespace, pool)
        message = wait_for(
            lambda: _unschedulable_for(gpu_cluster, namespace, unrelated), "scheduler verdict", 120
        )
        tolerant = _gpu_pod(
            gpu_cluster,
            namespace,
            pool,
            [
                Toleration(
                    key="slicewise.io/gpu-pool", operator="Equal", value=value, effect="NoSchedule"
                )
            ],
        )
        bound = wait_for(lambda: _bound_to(gpu_cluster, namespace, tolerant), "tolerant pod", 120)
    assert "slicewise.io/gpu-pool" in message
    assert _bound_to(gpu_cluster, namespace, unrelated) is None
    assert bound in pools


async def test_mig_plan_waits_for_the_mig_manager_and_moves_pods_onto_mig_slices(
    gpu_cluster: Client, control_plane: KubeControlPlane
) -> None:
    """Mixed strategy: the pool becomes all-1g.10gb and the pods ask for nvidia.com/mig-1g.10gb."""
    pool = unique("mig")
    nodes = gpu_nodes(gpu_cluster, pool, 2)
    namespace = make_namespace(gpu_cluster)
    setup = install_operator(gpu_cluster, MigStrategy.MIXED)
    app = gpu_deployment(gpu_cluster, namespace, pool, REPLICAS)
    with GpuOperatorStandIn(setup.cluster_policy, setup.namespace, nodes).running(
        control_plane.admin
    ):
        plan = _plan(
            gpu_cluster,
            namespace=namespace,
            app=app,
            nodes=nodes,
            setup=setup,
            profile=_small_steady(),
        )
        result = await _apply(control_plane, plan)
        assert result.outcome is Outcome.APPLIED, result.reason
        pools = _pools(plan)
        wait_for(lambda: _on_pools(gpu_cluster, namespace, app, set(pools)), "pods on MIG", 180)
    assert set(pools.values()) == {"nvidia.com/mig.config=all-1g.10gb"}
    for node in pools:
        assert _labels(gpu_cluster, node)["nvidia.com/mig.config.state"] == "success"
    deployment = gpu_cluster.get(Deployment, app, namespace=namespace)
    container = deployment.spec.template.spec.containers[0]  # type: ignore[union-attr]
    assert container.resources.requests == {"nvidia.com/mig-1g.10gb": "1"}  # type: ignore[union-attr]


async def test_failed_mig_layout_rolls_back_every_object(
    gpu_cluster: Client, control_plane: KubeControlPlane
) -> None:
    """The MIG manager fails the custom layout: config, labels, cordons and workload restored."""
    pool = unique("migfail")
    nodes = gpu_nodes(gpu_cluster, pool, 2)
    namespace = make_namespace(gpu_cluster)
    # A mig-parted config without a uniform 1g.10gb layout: the plan must add one.
    config = (
        "version: v1\nmig-configs:\n  all-disabled:\n    - devices: all\n      mig-enabled: false\n"
    )
    setup = install_operator(gpu_cluster, MigStrategy.MIXED, config)
    app = gpu_deployment(gpu_cluster, namespace, pool, REPLICAS)
    stand_in = GpuOperatorStandIn(
        setup.cluster_policy, setup.namespace, nodes, failing_layouts={"slicewise-all-1g.10gb"}
    )
    with stand_in.running(control_plane.admin):
        plan = _plan(
            gpu_cluster,
            namespace=namespace,
            app=app,
            nodes=nodes,
            setup=setup,
            profile=_small_steady(),
        )
        before_labels = {n: _labels(gpu_cluster, n) for n in nodes}
        before_spec = gpu_cluster.get(Deployment, app, namespace=namespace).spec.template.spec
        result = await _apply(control_plane, plan)
    assert result.outcome is Outcome.ROLLED_BACK, result.reason
    assert "mig.config.state" in result.reason
    mig = gpu_cluster.get(ConfigMap, setup.mig_config_map, namespace=setup.namespace)
    assert (mig.data or {})[MIG_PARTED_CONFIG_KEY] == config
    for node in nodes:
        labels = _labels(gpu_cluster, node)
        labels.pop("nvidia.com/mig.config.state", None)  # the MIG manager's report, not ours
        assert labels == before_labels[node]
        assert not gpu_cluster.get(Node, node).spec.unschedulable  # type: ignore[union-attr]
    after_spec = gpu_cluster.get(Deployment, app, namespace=namespace).spec.template.spec
    assert after_spec == before_spec
