"""The local stack's cluster applies an approved GPU sharing plan.

`LocalKubeCluster` is what `slicewise up --cluster local` runs: the control plane with its node
keeper and the GPU Operator of the demo (ClusterPolicy CRD, ClusterPolicy and mig-parted
ConfigMap in `gpu-operator`, device plugin and MIG manager played for every GPU node). GPU nodes
labelled as GPU feature discovery labels them run a Deployment of light replicas; the product's
recommender plans from the cluster as the agent reports it (the GPU Operator's state read
with the chart's agent identity); the plan is signed as an approval
is, and the executor applies it with the kubeconfig `grant` writes for the chart's executor
ServiceAccount, which holds exactly the rights the demo's action allow-list gives it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient, Client, KubeConfig
from lightkube.resources.core_v1 import ConfigMap, Node

from agent.gpu_operator import read_gpu_operator
from auth.instruction_signing import InstructionKeyring, generate_signing_key, instruction_body_for
from cli.stack_cluster import ClusterAccess, LocalKubeCluster
from devstack.kube.demo_gpu_operator import (
    CLUSTER_POLICY_NAME,
    MIG_CONFIG_MAP,
    OPERATOR_NAMESPACE,
)
from executor.drain import Backoff
from executor.execution import InstructionExecutor, VerificationWindow
from executor.kube.api import KubeObjects, discover_policy_api
from executor.readiness import PodHealthCheck
from protocol.gpu_operator import GpuOperatorState, MigStrategy
from protocol.instruction import Outcome
from protocol.recommendation import Recommendation
from recommender.gpu.pools.recommend import recommend_gpu_pools
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from recommender.usage.key import ContainerKey
from tests.integration.kube.gpu_pool_cluster import (
    CONTAINER,
    MIG_CONFIG,
    ClusterPolicy,
    GpuOperatorSetup,
    gpu_deployment,
    gpu_nodes,
    snapshot,
    wait_settled,
)
from tests.integration.kube.shapes import make_namespace, node_of, pods_of, unique, wait_for
from tests.integration.kube.test_gpu_pool_plan import REPLICAS, _bursty

pytestmark = pytest.mark.kube


@pytest.fixture
def demo_cluster(tmp_path: Path) -> Iterator[tuple[Client, ClusterAccess]]:
    """The local stack's cluster with its GPU Operator, an admin client and the chart's access."""
    cluster = LocalKubeCluster(tmp_path)
    try:
        cluster.start(None, report=lambda _: None, mig_parted_config=MIG_CONFIG)
        with Client(KubeConfig.from_file(cluster.admin_kubeconfig)) as admin:
            yield admin, cluster.grant()
    finally:
        cluster.stop()


async def _operator_as_the_agent_reads_it(access: ClusterAccess) -> GpuOperatorState:
    """The GPU Operator's state read with the chart's agent identity, as the agent reads it."""
    client = AsyncClient(KubeConfig.from_file(access.agent_kubeconfig))
    try:
        operator, notes = await read_gpu_operator(client, OPERATOR_NAMESPACE)
    finally:
        await client.close()
    assert notes == []
    assert operator is not None
    return operator


async def _plan(
    admin: Client, access: ClusterAccess, namespace: str, app: str, nodes: list[str]
) -> Recommendation:
    wait_settled(admin, namespace, app, REPLICAS)
    setup = GpuOperatorSetup(
        CLUSTER_POLICY_NAME, OPERATOR_NAMESPACE, MigStrategy.SINGLE, MIG_CONFIG_MAP
    )
    operator = await _operator_as_the_agent_reads_it(access)
    assert operator.cluster_policy == CLUSTER_POLICY_NAME
    assert operator.device_plugin_config.name is None
    found = recommend_gpu_pools(
        snapshot(admin, namespace, nodes, setup).model_copy(update={"gpu_operator": operator}),
        {ContainerKey(namespace, "Deployment", app, CONTAINER): _bursty()},
        PriceBook(catalogues=bundled_catalogues()),
        datetime.now(UTC),
    )
    assert len(found) == 1, "the plan should empty a GPU node"
    return found[0]


async def _apply_as_the_demo_executor(access: ClusterAccess, plan: Recommendation) -> Any:
    keyring = InstructionKeyring(generate_signing_key())
    body = instruction_body_for(
        plan.change_set,
        tenant_id=uuid.uuid4(),
        cluster_id=plan.cluster_id,
        issued_at=datetime.now(UTC),
        ttl=timedelta(minutes=30),
    )
    client = AsyncClient(KubeConfig.from_file(access.executor_kubeconfig))
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


def _on_pools(admin: Client, namespace: str, app: str, pools: set[str]) -> bool:
    pods = pods_of(admin, namespace, app)
    return len(pods) == REPLICAS and all(
        node_of(p) in pools and p.status is not None and p.status.phase == "Running" for p in pods
    )


async def test_demo_cluster_applies_an_approved_time_slicing_plan(
    demo_cluster: tuple[Client, ClusterAccess],
) -> None:
    """ConfigMap created, ClusterPolicy pointed, pool relabelled, replicas rebound, node emptied."""
    admin, access = demo_cluster
    pool = unique("demo-gpu")
    nodes = gpu_nodes(admin, pool, 2)
    namespace = make_namespace(admin)
    app = gpu_deployment(admin, namespace, pool, REPLICAS)
    plan = await _plan(admin, access, namespace, app, nodes)
    allowed = set(json.loads(access.allowed_action_types))
    assert {a.type.value for a in plan.change_set.actions} <= allowed
    result = await _apply_as_the_demo_executor(access, plan)
    assert result.outcome is Outcome.APPLIED, result.reason
    pools: list[dict[str, Any]] = plan.evidence["pools"]  # type: ignore[assignment]
    labels = {p["node"]: p["label"] for p in pools}
    wait_for(lambda: _on_pools(admin, namespace, app, set(labels)) or None, "pods on the pool", 180)
    policy = dict(admin.get(ClusterPolicy, CLUSTER_POLICY_NAME))
    config = policy["spec"]["devicePlugin"]["config"]
    created = admin.get(ConfigMap, config["name"], namespace=OPERATOR_NAMESPACE)
    assert "slicewise-timeslice-2" in (created.data or {})
    for node, label in labels.items():
        key, value = label.split("=")
        found = admin.get(Node, node).to_dict()
        assert found["metadata"]["labels"][key] == value
        # The played device plugin advertises two time-sliced devices per GPU.
        assert found["status"]["allocatable"]["nvidia.com/gpu"] == "16"
    emptied: list[str] = plan.evidence["nodes_emptied"]  # type: ignore[assignment]
    assert emptied
    for node in emptied:
        assert admin.get(Node, node).spec.unschedulable  # type: ignore[union-attr]
