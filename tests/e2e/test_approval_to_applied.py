"""Approval -> signed instruction -> executor -> cluster -> result, end to end.

Everything real: the gateway with the console (uvicorn in-process) on the session's PostgreSQL,
Redis and Kafka; the executor process's own `serve` with settings, trusting exactly the keys
`slicewise admin instruction-keys` prints and acting with its chart's RBAC rules on a real
kube-apiserver; a console API client approving through the console endpoint.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node

from auth.hashing import SecretHasher
from auth.provisioning import ClusterCredentials, Provisioning
from bench.approval_stack import store_cordon_recommendation
from devstack.kube import KubeApiServer
from executor.service import serve as serve_executor
from store.repositories.audit import AuditRepository
from tests.e2e.conftest import (
    APPLIED_WITHIN,
    PrintKeys,
    Saas,
    completed_instruction,
    executor_settings,
)
from tests.integration.executor.conftest import EXECUTOR_RULES
from tests.integration.gateway.harness import fetch_token
from tests.support.spans import RecordingExporter, lineage, named, our_names

pytestmark = pytest.mark.kube


@dataclass(frozen=True)
class Applied:
    """What one approval led to, once the executor reported."""

    credentials: ClusterCredentials
    recommendation_id: uuid.UUID
    instruction_id: uuid.UUID
    approver_token: str
    trusted: dict[str, str]
    state: dict[str, Any]
    """The instruction's status document, read through the API."""
    live: Node
    """The node as the cluster has it afterwards."""


async def _approve_and_apply(
    saas: Saas, cluster_api: KubeApiServer, print_trusted_keys: PrintKeys, tmp_path: Path
) -> Applied:
    """Approve a cordon in the console and wait for the executor's result."""
    gateway, database, tenant = saas.gateway, saas.database, saas.tenant
    provisioning = Provisioning(database, SecretHasher())
    credentials = await provisioning.create_cluster(tenant.id, "e2e-approval", actor="test")
    approver = await provisioning.create_client(
        tenant.id, ["console:read", "console:approve"], actor="test"
    )
    token = await fetch_token(gateway, approver.client.client_id, approver.secret)
    node = f"gpu-{uuid.uuid4().hex[:6]}"
    admin = cluster_api.admin_async_client()
    try:
        await admin.create(Node(metadata=ObjectMeta(name=node)))
        recommendation_id = await store_cordon_recommendation(
            database, tenant.id, credentials.cluster.id, node
        )
        trusted = await print_trusted_keys()
        identity = cluster_api.mint_identity(
            EXECUTOR_RULES, name=f"slicewise-executor-{uuid.uuid4().hex[:6]}"
        )
        kubeconfig = tmp_path / "kubeconfig.yaml"
        kubeconfig.write_text(yaml.safe_dump(identity.kubeconfig_dict()), encoding="utf-8")
        settings = executor_settings(
            gateway, credentials, trusted, kubeconfig, tmp_path / "executor"
        )
        stop, started = asyncio.Event(), asyncio.Event()
        executor = asyncio.create_task(serve_executor(settings, stop, started=started))
        try:
            await asyncio.wait_for(started.wait(), APPLIED_WITHIN)
            async with gateway.client() as http:
                approval = await http.post(
                    f"/v1/console/recommendations/{recommendation_id}/approve",
                    json={"comment": "go"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            assert approval.status_code == 200, approval.text
            instruction_id = uuid.UUID(approval.json()["instruction_id"])
            state = await completed_instruction(
                gateway, token, credentials.cluster.id, instruction_id
            )
        finally:
            stop.set()
            await asyncio.wait_for(executor, 30)
        live = await admin.get(Node, node)
    finally:
        await admin.close()
    return Applied(credentials, recommendation_id, instruction_id, token, trusted, state, live)


async def test_approved_recommendation_is_applied_by_the_executor_and_reported(
    saas: Saas, cluster_api: KubeApiServer, print_trusted_keys: PrintKeys, tmp_path: Path
) -> None:
    """Console approval cordons the node through the executor; the API shows it applied."""
    applied = await _approve_and_apply(saas, cluster_api, print_trusted_keys, tmp_path)
    gateway, database, tenant = saas.gateway, saas.database, saas.tenant
    state, live, trusted = applied.state, applied.live, applied.trusted
    instruction_id, recommendation_id = applied.instruction_id, applied.recommendation_id
    token, credentials = applied.approver_token, applied.credentials

    assert (state["status"], state["outcome"]) == ("completed", "applied"), state["result"]
    assert state["key_id"] in trusted
    assert state["delivery_count"] == 1
    assert live.spec is not None
    assert live.spec.unschedulable is True
    async with database.tenant(tenant.id) as session:
        audit = await AuditRepository(session, tenant.id).list(subject_id=str(instruction_id))
    async with gateway.client() as http:
        detail = await http.get(
            f"/v1/console/recommendations/{recommendation_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert detail.status_code == 200
    assert detail.json()["summary"]["status"] == "applied"
    assert [entry.action for entry in audit] == ["instruction.applied", "instruction.issued"]
    assert audit[0].actor == f"client:{credentials.executor.client.client_id}"


async def test_one_trace_follows_an_approval_to_the_cluster_and_back(
    saas: Saas,
    cluster_api: KubeApiServer,
    print_trusted_keys: PrintKeys,
    tmp_path: Path,
    spans: RecordingExporter,
) -> None:
    """The executor's handling and its result report descend from the console's approval."""
    applied = await _approve_and_apply(saas, cluster_api, print_trusted_keys, tmp_path)
    result_route = "POST /v1/clusters/{cluster_id}/instructions/{instruction_id}/result"
    finished = await spans.wait_for(lambda found: any(s.name == result_route for s in found))

    report = named(finished, result_route)
    path = [
        result_route,
        "handle instruction",
        "deliver instruction",
        "POST /v1/console/recommendations/{recommendation_id}/approve",
    ]
    chain = lineage(report, finished)
    assert our_names(chain, set(path)) == path
    assert chain[-1].name == path[-1]
    handle = named(finished, "handle instruction")
    assert handle.attributes is not None
    assert handle.attributes["slicewise.instruction_id"] == str(applied.instruction_id)
    apply = named(finished, "apply instruction")
    assert lineage(apply, finished)[1].context.span_id == handle.context.span_id
    assert {span.context.trace_id for span in [*chain, apply]} == {report.context.trace_id}
