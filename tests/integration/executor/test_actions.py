"""Every action type, applied by the executor to a real API server and checked there."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import ApiError, AsyncClient
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Node, Pod
from pydantic import JsonValue

from executor.kube.api import KubeObjects, PolicyApi, as_json
from protocol.changes import (
    Action,
    ApplyPdb,
    ContainerResources,
    Cordon,
    Drain,
    LabelNode,
    PatchConfigMap,
    PatchResources,
    PatchScheduling,
    Precondition,
    Scale,
    TaintNode,
    Uncordon,
    WorkloadRef,
)
from protocol.instruction import Outcome
from protocol.resources import Resources
from protocol.snapshot import Taint, Toleration, WorkloadKind
from tests.integration.executor.cluster_objects import (
    make_config_map,
    make_node,
    make_pod,
    make_workload,
)
from tests.integration.executor.conftest import Saas, make_executor

pytestmark = pytest.mark.kube

MIB = 2**20


def _ref(workload: dict[str, Any]) -> WorkloadRef:
    metadata = workload["metadata"]
    return WorkloadRef(
        kind=WorkloadKind(workload["kind"]), namespace=metadata["namespace"], name=metadata["name"]
    )


async def _ready_pods(admin: AsyncClient, workload: dict[str, Any], count: int = 2) -> None:
    for _ in range(count):
        await make_pod(
            admin, workload["metadata"]["namespace"], labels={"app": workload["metadata"]["name"]}
        )


def _containers(obj: Any) -> dict[str, Any]:
    spec = as_json(obj)["spec"]["template"]["spec"]
    return {c["name"]: c.get("resources", {}) for c in spec["containers"]}


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
async def test_patch_resources_changes_only_the_named_container(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas, kind: str
) -> None:
    """Requests and a removed limit land on `main`; the sidecar is untouched; undo is recorded."""
    workload = await make_workload(admin, namespace, kind=kind)
    await _ready_pods(admin, workload)
    action = PatchResources(
        target=_ref(workload),
        containers=[
            ContainerResources(
                container="main",
                requests=Resources(cpu_millis=250, memory_bytes=512 * MIB),
                remove_limits=["cpu"],
            )
        ],
        precondition=Precondition(resource_version=workload["metadata"]["resourceVersion"]),
    )
    result = await make_executor(kube).execute(saas.instruction([action]))

    assert result.outcome is Outcome.APPLIED, result.reason
    resource = Deployment if kind == "Deployment" else StatefulSet
    live = await admin.get(resource, workload["metadata"]["name"], namespace=namespace)
    assert _containers(live) == {
        "main": {"requests": {"cpu": "250m", "memory": "512Mi"}},
        "sidecar": {},
    }
    outcome = result.actions[0]
    assert outcome.outcome is Outcome.APPLIED
    diff: Any = outcome.diff
    diff_containers = diff["spec"]["template"]["spec"]["containers"]
    assert diff_containers[0]["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}}
    assert outcome.rollback == {
        "kind": kind,
        "namespace": namespace,
        "name": workload["metadata"]["name"],
        "patch_type": "strategic",
        "patch": {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "main",
                                "resources": {
                                    "requests": {"cpu": "500m", "memory": "1Gi"},
                                    "limits": {"cpu": "2"},
                                },
                            }
                        ]
                    }
                }
            }
        },
    }


async def test_patch_scheduling_sets_tolerations_selector_affinity_and_spread(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """Every scheduling field of the pod template is set to exactly the given value."""
    workload = await make_workload(admin, namespace)
    await _ready_pods(admin, workload)
    affinity: dict[str, JsonValue] = {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 80,
                "preference": {
                    "matchExpressions": [
                        {"key": "capacity-type", "operator": "In", "values": ["spot"]}
                    ]
                },
            }
        ]
    }
    spread: dict[str, JsonValue] = {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": workload["metadata"]["name"]}},
    }
    action = PatchScheduling(
        target=_ref(workload),
        node_affinity=affinity,
        tolerations=[Toleration(key="spot", operator="Exists", effect="NoSchedule")],
        topology_spread_constraints=[spread],
        node_selector={"pool": "spot"},
    )
    result = await make_executor(kube).execute(saas.instruction([action]))

    assert result.outcome is Outcome.APPLIED, result.reason
    live = as_json(await admin.get(Deployment, workload["metadata"]["name"], namespace=namespace))
    pod_spec = live["spec"]["template"]["spec"]
    assert pod_spec["affinity"] == {"nodeAffinity": affinity}
    assert pod_spec["tolerations"] == [
        {"key": "spot", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert pod_spec["topologySpreadConstraints"] == [spread]
    assert pod_spec["nodeSelector"] == {"pool": "spot"}


async def test_scale_sets_replicas(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """Scaling a Deployment from 2 to 3 replicas changes spec.replicas and records 2 for undo."""
    workload = await make_workload(admin, namespace, replicas=2)
    await _ready_pods(admin, workload)
    result = await make_executor(kube).execute(
        saas.instruction([Scale(target=_ref(workload), replicas=3)])
    )

    assert result.outcome is Outcome.APPLIED, result.reason
    live = as_json(await admin.get(Deployment, workload["metadata"]["name"], namespace=namespace))
    assert live["spec"]["replicas"] == 3
    assert result.actions[0].diff == {"spec": {"replicas": 3}}
    assert isinstance(result.actions[0].rollback, dict)
    assert result.actions[0].rollback["patch"] == {"spec": {"replicas": 2}}


async def test_apply_pdb_creates_then_patches_the_budget(
    admin: AsyncClient, kube: KubeObjects, policy_api: PolicyApi, namespace: str, saas: Saas
) -> None:
    """A missing PDB is created; applying again with maxUnavailable replaces minAvailable."""
    executor = make_executor(kube)
    create = ApplyPdb(namespace=namespace, name="web", selector={"app": "web"}, min_available=2)
    created = await executor.execute(saas.instruction([create]))
    assert created.outcome is Outcome.APPLIED, created.reason
    assert isinstance(created.actions[0].rollback, dict)
    assert created.actions[0].rollback["delete"] is True

    change = ApplyPdb(namespace=namespace, name="web", selector={"app": "web"}, max_unavailable=1)
    patched = await executor.execute(saas.instruction([change]))
    assert patched.outcome is Outcome.APPLIED, patched.reason
    live = as_json(await admin.get(policy_api.pdb, "web", namespace=namespace))
    assert live["spec"]["maxUnavailable"] == 1
    assert "minAvailable" not in live["spec"]
    assert live["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert live["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "slicewise"}


async def test_cordon_then_uncordon(admin: AsyncClient, kube: KubeObjects, saas: Saas) -> None:
    """Cordon marks the node unschedulable; uncordon clears it again."""
    node = await make_node(admin)
    executor = make_executor(kube)
    cordoned = await executor.execute(saas.instruction([Cordon(node=node)]))
    assert cordoned.outcome is Outcome.APPLIED, cordoned.reason
    assert (await admin.get(Node, node)).spec.unschedulable is True  # type: ignore[union-attr]

    uncordoned = await executor.execute(saas.instruction([Uncordon(node=node)]))
    assert uncordoned.outcome is Outcome.APPLIED, uncordoned.reason
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]


async def test_label_node_sets_and_removes_labels(
    admin: AsyncClient, kube: KubeObjects, saas: Saas
) -> None:
    """A MIG profile label is set and a stale one removed in one action."""
    node = await make_node(admin, labels={"nvidia.com/mig.config": "all-disabled", "stale": "x"})
    action = LabelNode(node=node, labels={"nvidia.com/mig.config": "all-1g.10gb", "stale": None})
    result = await make_executor(kube).execute(saas.instruction([action]))

    assert result.outcome is Outcome.APPLIED, result.reason
    labels = (await admin.get(Node, node)).metadata.labels  # type: ignore[union-attr]
    assert labels == {"nvidia.com/mig.config": "all-1g.10gb"}
    assert result.actions[0].diff == {
        "metadata": {"labels": {"nvidia.com/mig.config": "all-1g.10gb", "stale": None}}
    }


_GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
_POOL_TAINT = Taint(key="slicewise.io/gpu-pool", value="slicewise-timeslice-2", effect="NoSchedule")


async def _tainted_node(admin: AsyncClient) -> str:
    node = await make_node(admin)
    await admin.patch(Node, node, {"spec": {"taints": [_GPU_TAINT]}})
    return node


def _taints(node: Node) -> list[dict[str, Any]]:
    return [
        {"key": t.key, "value": t.value, "effect": t.effect}
        for t in (node.spec.taints if node.spec else None) or []
    ]


async def test_taint_node_adds_the_pool_taint_beside_the_node_s_own(
    admin: AsyncClient, kube: KubeObjects, saas: Saas
) -> None:
    """The pool taint is added; the GPU taint the node already had stays."""
    node = await _tainted_node(admin)
    result = await make_executor(kube).execute(
        saas.instruction([TaintNode(node=node, taints=[_POOL_TAINT])])
    )

    assert result.outcome is Outcome.APPLIED, result.reason
    assert _taints(await admin.get(Node, node)) == [
        _GPU_TAINT,
        {"key": "slicewise.io/gpu-pool", "value": "slicewise-timeslice-2", "effect": "NoSchedule"},
    ]


async def test_taint_node_is_rolled_back_with_a_failing_change_after_it(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """A later change whose pods never get ready rolls the taint back to the node's own list."""
    node = await _tainted_node(admin)
    workload = await make_workload(admin, namespace)
    await make_pod(admin, namespace, labels={"app": workload["metadata"]["name"]}, ready=False)
    shrink = PatchResources(
        target=_ref(workload),
        containers=[
            ContainerResources(container="main", requests=Resources(memory_bytes=256 * MIB))
        ],
    )
    result = await make_executor(kube).execute(
        saas.instruction([TaintNode(node=node, taints=[_POOL_TAINT]), shrink])
    )

    assert result.outcome is Outcome.ROLLED_BACK, result.reason
    assert _taints(await admin.get(Node, node)) == [_GPU_TAINT]


async def test_patch_config_map_merges_keys(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """New device-plugin config replaces one key and leaves the others."""
    config_map = await make_config_map(admin, namespace, {"config.yaml": "old", "other": "kept"})
    name = config_map["metadata"]["name"]
    action = PatchConfigMap(namespace=namespace, name=name, data={"config.yaml": "sharing: 4"})
    result = await make_executor(kube).execute(saas.instruction([action]))

    assert result.outcome is Outcome.APPLIED, result.reason
    live = await admin.get(ConfigMap, name, namespace=namespace)
    assert live.data == {"config.yaml": "sharing: 4", "other": "kept"}


async def test_drain_evicts_all_but_daemonset_and_mirror_pods(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """Cordon + drain evicts the replica pods and leaves DaemonSet and mirror pods in place."""
    node = await make_node(admin)
    evictable = [
        await make_pod(admin, namespace, node=node, owner_kind="ReplicaSet") for _ in range(2)
    ]
    daemon = await make_pod(admin, namespace, node=node, owner_kind="DaemonSet")
    mirror = await make_pod(
        admin, namespace, node=node, annotations={"kubernetes.io/config.mirror": "hash"}
    )
    elsewhere = await make_pod(admin, namespace, node=await make_node(admin))
    actions: list[Action] = [
        Cordon(node=node),
        Drain(node=node, deadline_seconds=30, grace_period_seconds=0),
    ]
    result = await make_executor(kube).execute(saas.instruction(actions))

    assert result.outcome is Outcome.APPLIED, result.reason
    remaining = {p.metadata.name async for p in admin.list(Pod, namespace=namespace) if p.metadata}
    assert remaining == {daemon, mirror, elsewhere}
    drain_diff = result.actions[1].diff
    assert isinstance(drain_diff, dict)
    assert drain_diff["evicted"] == sorted(f"{namespace}/{p}" for p in evictable)
    assert drain_diff["skipped"] == {
        f"{namespace}/{daemon}": "DaemonSet pod",
        f"{namespace}/{mirror}": "mirror pod",
    }


async def test_dry_run_reports_the_diff_and_changes_nothing(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """In dry-run the server computes the change, the result carries it, the object stays."""
    workload = await make_workload(admin, namespace, replicas=2)
    node = await make_node(admin)
    before = as_json(await admin.get(Deployment, workload["metadata"]["name"], namespace=namespace))
    actions: list[Action] = [Scale(target=_ref(workload), replicas=5), Cordon(node=node)]
    result = await make_executor(kube).execute(saas.instruction(actions), dry_run=True)

    assert result.outcome is Outcome.DRY_RUN
    assert [a.diff for a in result.actions] == [
        {"spec": {"replicas": 5}},
        {"spec": {"unschedulable": True}},
    ]
    after = as_json(await admin.get(Deployment, workload["metadata"]["name"], namespace=namespace))
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]


async def test_executor_identity_cannot_delete_workloads(
    kube: KubeObjects, admin: AsyncClient, namespace: str
) -> None:
    """The executor's RBAC allows patching workloads, not deleting them."""
    workload = await make_workload(admin, namespace)
    with pytest.raises(ApiError) as denied:
        await kube.client.delete(Deployment, workload["metadata"]["name"], namespace=namespace)
    assert denied.value.status.code == 403
