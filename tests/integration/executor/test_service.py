"""The executor process end to end: stored instruction, long-poll, apply, report, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node
from pydantic import SecretStr

from auth.instruction_signing import InstructionKeyring, instruction_for_recommendation
from devstack.kube import KubeIdentity
from devstack.process import free_port
from executor.errors import ExecutorError
from executor.execution import utc_now
from executor.kube.api import KubeObjects, PolicyApi, as_json
from executor.service import serve
from executor.settings import ExecutorSettings, Mode, ReadinessMode
from protocol.changes import ActionType, ChangeSet, Cordon, Scale, WorkloadRef
from protocol.instruction import Approval, Outcome
from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind, Risk
from protocol.snapshot import WorkloadKind
from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.instructions import InstructionRepository, InstructionStatus
from store.repositories.tenants import TenantView
from store.tables import RecommendationRecord
from tests.integration.executor.cluster_objects import make_node, make_pod, make_workload
from tests.integration.executor.conftest import ExecutorRig, Saas, build_runner
from tests.integration.executor.gateway_stand_in import (
    Credentials,
    GatewayStandIn,
    RepositoryBackend,
)

pytestmark = pytest.mark.kube


async def _approved_recommendation(
    database: Database, tenant: TenantView, workload: dict[str, object], keyring: InstructionKeyring
) -> tuple[uuid.UUID, uuid.UUID]:
    """Store a cluster, an approved scale-down recommendation and its signed instruction."""
    metadata = workload["metadata"]
    assert isinstance(metadata, dict)
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create("prod")
    target = WorkloadRef(
        kind=WorkloadKind.DEPLOYMENT, namespace=metadata["namespace"], name=metadata["name"]
    )
    recommendation = Recommendation(
        recommendation_id=uuid.uuid4(),
        cluster_id=cluster.id,
        kind=RecommendationKind.RIGHTSIZING,
        workload=target,
        title="Run web with one replica",
        reason="two replicas idle",
        risk=Risk.LOW,
        monthly_saving_usd=30.0,
        change_set=ChangeSet(actions=[Scale(target=target, replicas=1)]),
        computed_from=[
            ObjectVersion(
                kind="Deployment",
                namespace=metadata["namespace"],
                name=metadata["name"],
                resource_version=metadata["resourceVersion"],
            )
        ],
        created_at=utc_now(),
    )
    instruction = instruction_for_recommendation(
        recommendation, tenant_id=tenant.id, keyring=keyring, now=utc_now()
    )
    async with database.tenant(tenant.id) as session:
        session.add(
            RecommendationRecord(
                id=recommendation.recommendation_id,
                tenant_id=tenant.id,
                cluster_id=cluster.id,
                kind=recommendation.kind.value,
                status="approved",
                fingerprint=f"rightsizing/{metadata['name']}",
                monthly_saving_usd=recommendation.monthly_saving_usd,
                body=recommendation.model_dump(mode="json"),
                created_at=recommendation.created_at,
            )
        )
        await session.flush()
        await InstructionRepository(session, tenant.id).create_approved(
            instruction, approved_at=utc_now()
        )
    return cluster.id, instruction.body.instruction_id


@dataclass(frozen=True)
class Storage:
    """The SaaS database and the tenant a test works in."""

    database: Database
    tenant: TenantView


@dataclass(frozen=True)
class ExecutorSide:
    """What a runner is built from: cluster access, HTTP client, state directory."""

    kube: KubeObjects
    http: httpx.AsyncClient
    state_dir: Path


@pytest.fixture
def storage(database: Database, tenant: TenantView) -> Storage:
    """This test's tenant in the session database."""
    return Storage(database, tenant)


@pytest.fixture
def executor_side(kube: KubeObjects, http: httpx.AsyncClient, tmp_path: Path) -> ExecutorSide:
    """The executor's cluster access, HTTP client and state directory."""
    return ExecutorSide(kube, http, tmp_path)


async def test_stored_instruction_is_applied_and_its_result_recorded(
    admin: AsyncClient, namespace: str, storage: Storage, saas: Saas, executor_side: ExecutorSide
) -> None:
    """Repository -> long-poll -> verify -> apply -> report -> repository, with the poll loop."""
    database, tenant = storage.database, storage.tenant
    kube, http, tmp_path = executor_side.kube, executor_side.http, executor_side.state_dir
    workload = await make_workload(admin, namespace, replicas=2)
    await make_pod(admin, namespace, labels={"app": workload["metadata"]["name"]})
    cluster_id, instruction_id = await _approved_recommendation(
        database, tenant, workload, saas.keyring
    )
    stand_in = GatewayStandIn(
        RepositoryBackend(database, tenant.id), Credentials("exec", "secret", cluster_id)
    )
    async with stand_in.serving():
        policy = Saas(tenant.id, cluster_id, saas.keyring).policy()
        runner = build_runner(kube, http, stand_in, policy=policy, state_dir=tmp_path)
        stop = asyncio.Event()
        loop = asyncio.create_task(runner.run(stop, wait_seconds=10))
        await asyncio.wait_for(stand_in.result_posted.wait(), timeout=60)
        stop.set()
        await asyncio.wait_for(loop, timeout=30)

    async with database.tenant(tenant.id) as session:
        view = await InstructionRepository(session, tenant.id).get(instruction_id)
    assert view.status is InstructionStatus.COMPLETED
    assert view.outcome is Outcome.APPLIED, view.result
    assert view.delivery_count == 1
    live = as_json(await admin.get(Deployment, workload["metadata"]["name"], namespace=namespace))
    assert live["spec"]["replicas"] == 1
    [entry] = [e for e in runner.audit.entries() if e["event"] == "instruction"]
    assert (entry["instruction_id"], entry["outcome"]) == (str(instruction_id), "applied")


async def test_dry_run_mode_reports_without_changing(
    admin: AsyncClient, kube: KubeObjects, http: httpx.AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """An executor in dry-run mode reports the would-be diff and leaves the node alone."""
    runner = build_runner(
        kube,
        http,
        rig.gateway,
        policy=saas.policy(mode=Mode.DRY_RUN),
        state_dir=rig.state_dir / "dry",
    )
    node = await make_node(admin)
    instruction = saas.instruction([Cordon(node=node)])
    rig.backend.queued.append(instruction)
    [result] = await runner.poll_once(0)

    assert result.outcome is Outcome.DRY_RUN
    assert rig.backend.results[instruction.body.instruction_id] == result
    assert result.actions[0].diff == {"spec": {"unschedulable": True}}
    assert not (await admin.get(Node, node)).spec.unschedulable  # type: ignore[union-attr]


async def test_result_waits_in_the_outbox_while_the_gateway_is_down(
    admin: AsyncClient, kube: KubeObjects, http: httpx.AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """A result that cannot be reported survives a restart and is delivered afterwards."""
    unreachable = GatewayStandIn(rig.backend, rig.gateway.credentials)
    unreachable.url = f"http://127.0.0.1:{free_port()}"
    offline = build_runner(kube, http, unreachable, policy=saas.policy(), state_dir=rig.state_dir)
    node = await make_node(admin)
    instruction = saas.instruction([Cordon(node=node)])
    rig.backend.queued.append(instruction)
    applied = await offline.handle(instruction)
    assert applied.outcome is Outcome.APPLIED, applied.reason
    assert offline.state.outbox() == [applied]
    assert rig.backend.posts == []

    delivered = await rig.restarted(kube, http).flush_outbox()

    assert delivered == 1
    assert rig.backend.results[instruction.body.instruction_id] == applied


async def test_serve_wires_the_process_from_settings(
    admin: AsyncClient,
    executor_identity: KubeIdentity,
    rig: ExecutorRig,
    saas: Saas,
    tmp_path: Path,
) -> None:
    """`serve` polls, applies a policy-approved cordon (auto-listed), reports and stops."""
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(executor_identity.kubeconfig_dict()), encoding="utf-8")
    creds = rig.gateway.credentials
    settings = ExecutorSettings(
        gateway_url=rig.gateway.url,
        cluster_id=saas.cluster_id,
        tenant_id=saas.tenant_id,
        client_id=creds.client_id,
        client_secret=SecretStr(creds.client_secret),
        trusted_public_keys=saas.keyring.trusted_public_keys(),
        mode=Mode.AUTO,
        allowed_action_types=[ActionType.CORDON],
        auto_action_types=[ActionType.CORDON],
        poll_wait_seconds=5,
        state_dir=tmp_path / "state",
        kubeconfig=kubeconfig,
        readiness=ReadinessMode.PODS,
        verify_window_seconds=0,
        log_json=True,
    )
    node = await make_node(admin)
    instruction = saas.instruction([Cordon(node=node)], approval=Approval.POLICY)
    rig.backend.queued.append(instruction)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(settings, stop))
    await asyncio.wait_for(rig.gateway.result_posted.wait(), timeout=60)
    stop.set()
    await asyncio.wait_for(serving, timeout=30)

    assert rig.backend.results[instruction.body.instruction_id].outcome is Outcome.APPLIED
    assert (await admin.get(Node, node)).spec.unschedulable is True  # type: ignore[union-attr]
    audit = [
        json.loads(line) for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()
    ]
    assert [e["event"] for e in audit] == ["started", "instruction"]
    assert audit[0]["policy_api"] in {"policy/v1", "policy/v1beta1"}


async def test_crash_during_execution_is_reported_as_failed(
    executor_identity: KubeIdentity,
    policy_api: PolicyApi,
    http: httpx.AsyncClient,
    rig: ExecutorRig,
    saas: Saas,
) -> None:
    """An unexpected error (here a closed API client) still yields a reported failure."""
    closed = executor_identity.async_client()
    await closed.close()
    runner = build_runner(
        KubeObjects(closed, policy_api),
        http,
        rig.gateway,
        policy=saas.policy(),
        state_dir=rig.state_dir / "crash",
    )
    instruction = saas.instruction([Cordon(node="gpu-1")])
    rig.backend.queued.append(instruction)
    [result] = await runner.poll_once(0)

    assert result.outcome is Outcome.FAILED
    assert result.reason.startswith("executor error: RuntimeError")
    assert result.reason.endswith("the cluster may be partly changed")
    assert rig.backend.results[instruction.body.instruction_id] == result


async def test_a_failed_poll_marks_the_saas_unreachable(
    kube: KubeObjects, http: httpx.AsyncClient, rig: ExecutorRig, saas: Saas
) -> None:
    """A poll of a gateway nobody listens for leaves the link marked unreachable."""
    unreachable = GatewayStandIn(rig.backend, rig.gateway.credentials)
    unreachable.url = f"http://127.0.0.1:{free_port()}"
    offline = build_runner(kube, http, unreachable, policy=saas.policy(), state_dir=rig.state_dir)
    with pytest.raises(ExecutorError):
        await offline.poll_once(0)
    assert offline.link.reachable is False


async def test_an_answered_poll_marks_the_saas_reachable(rig: ExecutorRig) -> None:
    """After a failure, the next answered poll marks the link reachable again."""
    rig.runner.link.failed()
    await rig.runner.poll_once(0)
    assert rig.runner.link.reachable is True
