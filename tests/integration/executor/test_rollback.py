"""A change that fails, or leaves its workload unhealthy, is undone from the prior state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from executor.execution import VerificationWindow, utc_now
from executor.kube.api import KubeObjects, PolicyApi, as_json
from executor.readiness import PodHealthCheck, RolloutStatusCheck
from protocol.changes import (
    Action,
    ApplyPdb,
    ContainerResources,
    Cordon,
    Drain,
    PatchResources,
    WorkloadRef,
)
from protocol.instruction import Outcome
from protocol.resources import Resources
from protocol.snapshot import WorkloadKind
from tests.integration.executor.cluster_objects import (
    make_node,
    make_pdb,
    make_pod,
    make_workload,
    oom_killed_status,
    set_pdb_budget,
    set_pod_status,
    wait_for_change,
)
from tests.integration.executor.conftest import Saas, make_executor

pytestmark = pytest.mark.kube

ORIGINAL = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2"}}
LONG_WINDOW = VerificationWindow(seconds=60, poll_seconds=0.1)


def _ref(workload: dict[str, Any]) -> WorkloadRef:
    metadata = workload["metadata"]
    return WorkloadRef(
        kind=WorkloadKind.DEPLOYMENT, namespace=metadata["namespace"], name=metadata["name"]
    )


def _shrink(workload: dict[str, Any]) -> PatchResources:
    return PatchResources(
        target=_ref(workload),
        containers=[
            ContainerResources(container="main", requests=Resources(memory_bytes=256 * 2**20))
        ],
    )


async def _main_resources(admin: AsyncClient, workload: dict[str, Any]) -> dict[str, Any]:
    metadata = workload["metadata"]
    live = as_json(await admin.get(Deployment, metadata["name"], namespace=metadata["namespace"]))
    containers = live["spec"]["template"]["spec"]["containers"]
    return next(c["resources"] for c in containers if c["name"] == "main")


def _changed(workload: dict[str, Any]) -> Any:
    def memory_lowered(obj: dict[str, Any]) -> bool:
        containers = obj["spec"]["template"]["spec"]["containers"]
        main = next(c for c in containers if c["name"] == "main")
        return bool(main["resources"].get("requests", {}).get("memory") == "256Mi")

    return memory_lowered


async def test_pods_not_ready_at_window_end_roll_the_change_back(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """With an unready pod the verification fails and the old resources come back."""
    workload = await make_workload(admin, namespace)
    app = {"app": workload["metadata"]["name"]}
    await make_pod(admin, namespace, labels=app)
    unready = await make_pod(admin, namespace, labels=app, ready=False)
    result = await make_executor(kube).execute(saas.instruction([_shrink(workload)]))

    assert result.outcome is Outcome.ROLLED_BACK
    assert f"pods not ready: {unready}" in result.reason
    assert result.actions[0].outcome is Outcome.ROLLED_BACK
    assert await _main_resources(admin, workload) == ORIGINAL


async def test_oom_kill_after_the_change_rolls_back_at_once(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """A pod OOM-killed while the change is watched fails it before the window ends."""
    workload = await make_workload(admin, namespace)
    pod = await make_pod(admin, namespace, labels={"app": workload["metadata"]["name"]})
    executor = make_executor(kube, [PodHealthCheck()], window=LONG_WINDOW)
    running = asyncio.create_task(executor.execute(saas.instruction([_shrink(workload)])))
    await wait_for_change(
        admin,
        Deployment,
        workload["metadata"]["name"],
        namespace,
        since_version=workload["metadata"]["resourceVersion"],
        condition=_changed(workload),
    )
    await set_pod_status(
        admin, namespace, pod, ready=False, container_statuses=oom_killed_status(utc_now())
    )
    result = await asyncio.wait_for(running, timeout=30)

    assert result.outcome is Outcome.ROLLED_BACK
    assert f"pod {pod}: main OOM-killed" in result.reason
    assert await _main_resources(admin, workload) == ORIGINAL


async def test_rollout_status_check_passes_once_the_controller_reports_the_rollout(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """Acting as the deployment controller, the test reports the rollout done; the change stays."""
    workload = await make_workload(admin, namespace, replicas=2)
    name = workload["metadata"]["name"]
    executor = make_executor(kube, [RolloutStatusCheck()], window=VerificationWindow(2, 0.1))
    running = asyncio.create_task(executor.execute(saas.instruction([_shrink(workload)])))
    changed = await wait_for_change(
        admin,
        Deployment,
        name,
        namespace,
        since_version=workload["metadata"]["resourceVersion"],
        condition=_changed(workload),
    )
    status = {
        "observedGeneration": changed["metadata"]["generation"],
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }
    await admin.patch(
        Deployment.Status, name, {"status": status}, namespace=namespace, patch_type=PatchType.MERGE
    )
    result = await asyncio.wait_for(running, timeout=30)

    assert result.outcome is Outcome.APPLIED, result.reason
    assert result.reason == "applied; 2 replica(s) rolled out"
    assert (await _main_resources(admin, workload))["requests"]["memory"] == "256Mi"


async def test_rollout_never_observed_is_rolled_back(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """Without a controller to observe the new generation, the rollout check fails the change."""
    workload = await make_workload(admin, namespace)
    executor = make_executor(kube, [RolloutStatusCheck()])
    result = await executor.execute(saas.instruction([_shrink(workload)]))

    assert result.outcome is Outcome.ROLLED_BACK
    assert "the controller has not seen the change yet" in result.reason
    assert await _main_resources(admin, workload) == ORIGINAL


async def test_created_pdb_is_deleted_when_the_instruction_rolls_back(
    admin: AsyncClient, kube: KubeObjects, policy_api: PolicyApi, namespace: str, saas: Saas
) -> None:
    """Rollback undoes every applied action in reverse: the new PDB is deleted again."""
    workload = await make_workload(admin, namespace)
    await make_pod(admin, namespace, labels={"app": workload["metadata"]["name"]}, ready=False)
    pdb = ApplyPdb(namespace=namespace, name="guard", selector={"app": "x"}, min_available=1)
    result = await make_executor(kube).execute(saas.instruction([pdb, _shrink(workload)]))

    assert result.outcome is Outcome.ROLLED_BACK
    assert [a.outcome for a in result.actions] == [Outcome.ROLLED_BACK, Outcome.ROLLED_BACK]
    names = {
        p.metadata.name
        async for p in admin.list(policy_api.pdb, namespace=namespace)
        if p.metadata is not None
    }
    assert names == set()
    assert await _main_resources(admin, workload) == ORIGINAL


async def test_blocked_drain_undoes_the_cordon_before_it(
    admin: AsyncClient, kube: KubeObjects, policy_api: PolicyApi, namespace: str, saas: Saas
) -> None:
    """A drain a PDB never allows fails at its deadline, and the cordon is rolled back."""
    node = await make_node(admin)
    labels = {"app": "db"}
    pod = await make_pod(admin, namespace, labels=labels, node=node, owner_kind="StatefulSet")
    pdb = await make_pdb(admin, policy_api, namespace, labels, min_available=1)
    await set_pdb_budget(
        admin, policy_api, namespace, pdb, disruptions_allowed=0, healthy=1, desired=1
    )
    actions: list[Action] = [
        Cordon(node=node),
        Drain(node=node, deadline_seconds=1, grace_period_seconds=0),
    ]
    result = await make_executor(kube).execute(saas.instruction(actions))

    assert result.outcome is Outcome.ROLLED_BACK
    assert [a.outcome for a in result.actions] == [Outcome.ROLLED_BACK, Outcome.FAILED]
    assert f"left 1 pod(s) by the deadline: {namespace}/{pod}" in result.reason
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]


async def test_change_the_server_rejects_fails_the_dry_run_and_touches_nothing(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """Requests above the limit fail server-side validation in the dry-run; nothing is written."""
    workload = await make_workload(admin, namespace)
    node = await make_node(admin)
    too_big = PatchResources(
        target=_ref(workload),
        containers=[ContainerResources(container="main", requests=Resources(cpu_millis=4000))],
    )
    result = await make_executor(kube).execute(saas.instruction([Cordon(node=node), too_big]))

    assert result.outcome is Outcome.FAILED
    assert "action 1 (patch_resources) failed the dry-run" in result.reason
    assert [a.outcome for a in result.actions] == [Outcome.SKIPPED, Outcome.FAILED]
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]
    assert await _main_resources(admin, workload) == ORIGINAL
