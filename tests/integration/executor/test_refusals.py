"""Instructions the executor must refuse are refused, reported, and leave the cluster untouched."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from auth.instruction_signing import generate_signing_key, sign_instruction
from executor.execution import utc_now
from executor.kube.api import KubeObjects, as_json
from protocol.changes import ActionType, Cordon, Precondition, Scale, WorkloadRef
from protocol.instruction import Approval, Instruction, InstructionResult, Outcome
from protocol.snapshot import WorkloadKind
from tests.integration.executor.cluster_objects import make_node, make_pod, make_workload
from tests.integration.executor.conftest import (
    ExecutorRig,
    Saas,
    build_runner,
    make_executor,
)

pytestmark = pytest.mark.kube


async def _deliver(rig: ExecutorRig, instruction: Instruction) -> InstructionResult:
    """Queue one instruction at the gateway, let the runner poll once, return what it posted."""
    rig.backend.queued.append(instruction)
    await rig.runner.poll_once(0)
    posted = [r for r in rig.backend.posts if r.instruction_id == instruction.body.instruction_id]
    assert posted, "the runner reported nothing"
    return posted[-1]


async def _node_version(admin: AsyncClient, node: str) -> str:
    live = await admin.get(Node, node)
    assert live.metadata is not None
    assert live.metadata.resourceVersion is not None
    return live.metadata.resourceVersion


async def test_forged_instruction_is_refused_and_reported(
    admin: AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """An instruction signed by a key the executor does not trust changes nothing."""
    node = await make_node(admin)
    version = await _node_version(admin, node)
    stranger = generate_signing_key()
    forged = sign_instruction(
        saas.instruction([Cordon(node=node)]).body, stranger.private_key, stranger.key_id
    )
    reported = await _deliver(rig, forged)

    assert reported.outcome is Outcome.REFUSED
    assert "untrusted key id" in reported.reason
    assert reported.cluster_id == saas.cluster_id
    assert await _node_version(admin, node) == version


async def test_tampered_instruction_is_refused(
    admin: AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """Swapping the target node of a signed instruction breaks its signature."""
    node, victim = await make_node(admin), await make_node(admin)
    genuine = saas.instruction([Cordon(node=node)])
    tampered = genuine.model_copy(
        update={"body": genuine.body.model_copy(update={"actions": [Cordon(node=victim)]})}
    )
    reported = await _deliver(rig, tampered)

    assert reported.outcome is Outcome.REFUSED
    assert "does not match" in reported.reason
    assert not (await admin.get(Node, victim)).spec.unschedulable  # type: ignore[union-attr]


async def test_expired_instruction_is_refused(
    admin: AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """An instruction past its expiry is refused even though it is genuine."""
    node = await make_node(admin)
    stale = saas.instruction(
        [Cordon(node=node)], issued_at=utc_now() - timedelta(minutes=20), ttl_seconds=600
    )
    reported = await _deliver(rig, stale)

    assert reported.outcome is Outcome.REFUSED
    assert reported.reason.startswith("expired at ")
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]


async def test_instruction_for_another_cluster_is_refused(
    admin: AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """A genuine instruction for a different cluster is refused here."""
    node = await make_node(admin)
    elsewhere = saas.instruction([Cordon(node=node)], cluster_id=uuid.uuid4())
    reported = await _deliver(rig, elsewhere)

    assert reported.outcome is Outcome.REFUSED
    assert f"this is {saas.cluster_id}" in reported.reason
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]


async def test_disallowed_action_type_is_refused(
    admin: AsyncClient, kube: KubeObjects, http: httpx.AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """With only cordon allowed, an instruction that also scales is refused as a whole."""
    runner = build_runner(
        kube,
        http,
        rig.gateway,
        policy=saas.policy(allowed=[ActionType.CORDON]),
        state_dir=rig.state_dir / "auto",
    )
    rig.runner = runner
    node = await make_node(admin)
    web = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="default", name="web")
    reported = await _deliver(
        rig, saas.instruction([Cordon(node=node), Scale(target=web, replicas=1)])
    )

    assert reported.outcome is Outcome.REFUSED
    assert [a.outcome for a in reported.actions] == [Outcome.SKIPPED, Outcome.REFUSED]
    assert "'scale' is not allowed" in reported.actions[1].message
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]


async def test_policy_approved_instruction_is_refused_in_approve_each_mode(
    admin: AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """approve-each reports a policy's approval as refused, with why, and changes nothing."""
    node = await make_node(admin)
    version = await _node_version(admin, node)
    reported = await _deliver(rig, saas.instruction([Cordon(node=node)], approval=Approval.POLICY))

    assert reported.outcome is Outcome.REFUSED
    assert reported.reason.startswith("approved by a policy, not by a person: ")
    assert "approve-each mode" in reported.reason
    assert await _node_version(admin, node) == version


async def test_replayed_instruction_is_refused_and_not_applied_again(
    admin: AsyncClient, kube: KubeObjects, http: httpx.AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """After an applied instruction, the same one again (even after a restart) is refused."""
    node = await make_node(admin)
    instruction = saas.instruction([Cordon(node=node)])
    first = await _deliver(rig, instruction)
    assert first.outcome is Outcome.APPLIED, first.reason
    await admin.patch(Node, node, {"spec": {"unschedulable": None}}, patch_type=PatchType.MERGE)
    version = await _node_version(admin, node)

    replay = await rig.runner.handle(instruction)
    after_restart = await rig.restarted(kube, http).handle(instruction)

    for result in (replay, after_restart):
        assert result.outcome is Outcome.REFUSED
        assert result.reason == (
            f"replayed: nonce already used by instruction {instruction.body.instruction_id}"
        )
    assert await _node_version(admin, node) == version
    audit = [e["event"] for e in rig.runner.audit.entries()]
    assert audit.count("result-rejected") == 2  # the gateway keeps the first result (409)


async def test_redelivery_before_the_result_arrived_resends_it(
    admin: AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """A redelivered instruction whose result is still waiting gets that result, not a rerun."""
    node = await make_node(admin)
    instruction = saas.instruction([Cordon(node=node)])
    rig.runner.state.claim(instruction)
    waiting = InstructionResult(
        instruction_id=instruction.body.instruction_id,
        cluster_id=saas.cluster_id,
        outcome=Outcome.APPLIED,
        reason="applied before the connection dropped",
        started_at=utc_now(),
        finished_at=utc_now(),
    )
    rig.runner.state.queue_result(waiting)
    version = await _node_version(admin, node)

    reported = await _deliver(rig, instruction)

    assert reported == waiting
    assert rig.runner.state.outbox() == []
    assert await _node_version(admin, node) == version


async def _scaled_workload(
    admin: AsyncClient, namespace: str
) -> tuple[dict[str, Any], WorkloadRef]:
    workload = await make_workload(admin, namespace, replicas=2)
    await make_pod(admin, namespace, labels={"app": workload["metadata"]["name"]})
    ref = WorkloadRef(
        kind=WorkloadKind.DEPLOYMENT, namespace=namespace, name=workload["metadata"]["name"]
    )
    return workload, ref


async def test_changed_resource_version_is_refused_without_touching_the_object(
    admin: AsyncClient, kube: KubeObjects, namespace: str, saas: Saas
) -> None:
    """Someone scaled the Deployment after the recommendation: the executor refuses to scale."""
    workload, ref = await _scaled_workload(admin, namespace)
    name = workload["metadata"]["name"]
    pinned = Precondition(resource_version=workload["metadata"]["resourceVersion"])
    moved = as_json(
        await admin.patch(
            Deployment,
            name,
            {"spec": {"replicas": 4}},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )
    )
    result = await make_executor(kube).execute(
        saas.instruction([Scale(target=ref, replicas=1, precondition=pinned)])
    )

    assert result.outcome is Outcome.REFUSED
    assert result.actions[0].outcome is Outcome.REFUSED
    assert f"resourceVersion is {moved['metadata']['resourceVersion']}" in result.reason
    live = as_json(await admin.get(Deployment, name, namespace=namespace))
    assert live["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]
    assert live["spec"]["replicas"] == 4


async def test_changed_pinned_field_refuses_every_action(
    admin: AsyncClient, kube: KubeObjects, saas: Saas
) -> None:
    """A node relabelled since the recommendation stops the cordon that came before it too."""
    first, second = await make_node(admin), await make_node(admin, labels={"pool": "gpu"})
    await admin.patch(
        Node, second, {"metadata": {"labels": {"pool": "cpu"}}}, patch_type=PatchType.MERGE
    )
    versions = [await _node_version(admin, n) for n in (first, second)]
    actions = [
        Cordon(node=first),
        Cordon(node=second, precondition=Precondition(fields={"/metadata/labels/pool": "gpu"})),
    ]
    result = await make_executor(kube).execute(saas.instruction(actions))

    assert result.outcome is Outcome.REFUSED
    assert [a.outcome for a in result.actions] == [Outcome.SKIPPED, Outcome.REFUSED]
    assert '/metadata/labels/pool is "cpu", expected "gpu"' in result.reason
    assert [await _node_version(admin, n) for n in (first, second)] == versions
