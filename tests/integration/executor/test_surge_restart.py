"""A surge's scale-back survives an executor restart: the wait resumes from the state file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from executor.audit import AuditTrail
from executor.execution import utc_now
from executor.kube.api import KubeObjects, as_json
from executor.planning.targets import ObjectRef
from executor.spot_surge import ScaleBackOutcome, Surge, SurgeScaleBacks
from executor.state import ExecutorState
from tests.integration.executor.cluster_objects import make_node, make_workload

OUTCOME_TIMEOUT_SECONDS = 30.0


async def _ready_node(admin: AsyncClient) -> str:
    name = await make_node(admin)
    status = {"conditions": [{"type": "Ready", "status": "True"}]}
    await admin.patch(Node.Status, name, {"status": status}, patch_type=PatchType.MERGE)
    return name


async def _surged_deployment(admin: AsyncClient, namespace: str) -> ObjectRef:
    """A Deployment at its surged count of 2, both replicas Ready (as the controller writes)."""
    workload = await make_workload(admin, namespace, replicas=2)
    name = workload["metadata"]["name"]
    status = {
        "observedGeneration": workload["metadata"]["generation"],
        "replicas": 2,
        "readyReplicas": 2,
    }
    await admin.patch(
        Deployment.Status,
        name,
        {"status": status},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    return ObjectRef("Deployment", name, namespace)


def _scale_backs(kube: KubeObjects, state_dir: Path) -> SurgeScaleBacks:
    """The scale-backs of one executor run, over the state it loads from `state_dir`."""
    return SurgeScaleBacks(
        kube,
        audit=AuditTrail(state_dir, utc_now),
        store=ExecutorState.load(state_dir),
        poll_seconds=0.05,
    )


async def test_scale_back_resumes_after_restart(
    admin: AsyncClient, kube: KubeObjects, namespace: str, tmp_path: Path
) -> None:
    """Surge kept before the stop; the next run scales it back once the node is gone."""
    node = await _ready_node(admin)
    ref = await _surged_deployment(admin, namespace)
    first = _scale_backs(kube, tmp_path)
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    [waiting] = first.track([Surge(ref, node, before=1, surged=2)])
    stop.set()
    await running
    assert waiting.cancelled(), "the first run finished its wait instead of being stopped"
    live = as_json(await admin.get(Deployment, ref.name, namespace=namespace))
    assert live["spec"]["replicas"] == 2

    second = _scale_backs(kube, tmp_path)
    [resumed] = second.resume()
    await admin.delete(Node, node)
    outcome = await asyncio.wait_for(resumed, OUTCOME_TIMEOUT_SECONDS)

    assert outcome is ScaleBackOutcome.SCALED_BACK
    live = as_json(await admin.get(Deployment, ref.name, namespace=namespace))
    assert live["spec"]["replicas"] == 1
    assert ExecutorState.load(tmp_path).kept_surges() == {}


async def test_surge_whose_wait_ended_is_not_resumed(
    admin: AsyncClient, kube: KubeObjects, namespace: str, tmp_path: Path
) -> None:
    """A scale-back that finished before the restart is not done a second time."""
    node = await _ready_node(admin)
    ref = await _surged_deployment(admin, namespace)
    await admin.delete(Node, node)
    [done] = _scale_backs(kube, tmp_path).track([Surge(ref, node, before=1, surged=2)])
    assert await asyncio.wait_for(done, OUTCOME_TIMEOUT_SECONDS) is ScaleBackOutcome.SCALED_BACK

    assert _scale_backs(kube, tmp_path).resume() == []
