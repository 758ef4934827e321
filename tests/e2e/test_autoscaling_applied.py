"""Autoscaling advice through the product: analysis -> approval -> executor -> HPA -> applied.

A day of snapshots of an office-hours service of eight fixed replicas is folded by the ingest
worker's handler; the workers' analysis stores an autoscaling recommendation; a console client
approves it; the executor's own `serve`, with the chart's RBAC rules, creates the HPA in a real
kube-apiserver; the console shows the recommendation as applied.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace

from auth.hashing import SecretHasher
from auth.provisioning import ClusterCredentials, Provisioning
from devstack.kube import KubeApiServer
from executor.kube.api import as_json, discover_autoscaling_api
from executor.service import serve as serve_executor
from protocol.changes import ActionType, ApplyHpa
from protocol.recommendation import Recommendation, RecommendationKind
from protocol.snapshot import ClusterInfo, ClusterSnapshot, Provider, Usage
from protocol.topics import SnapshotMessage
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from store.repositories.recommendations import RecommendationRepository
from tests.e2e.conftest import (
    APPLIED_WITHIN,
    PrintKeys,
    Saas,
    completed_instruction,
    executor_settings,
)
from tests.integration.executor.conftest import EXECUTOR_RULES
from tests.integration.gateway.harness import fetch_token
from tests.unit.workers.factories import deployment, deployment_pod, node, sample
from workers.ingest.handler import SnapshotIngest
from workers.tasks.analysis_job import analyse_and_store

pytestmark = pytest.mark.kube

REPLICAS = 8
HOURS = 26
"""Just over a day of history: the least with which the advice can follow a daily cycle."""
PEAK_CORES, NIGHT_CORES = 3.0, 1.0
"""The service's demand, summed over its pods: 09:00-17:00 UTC, and otherwise."""


def _demand(at: datetime) -> float:
    return PEAK_CORES if 9 <= at.hour < 17 else NIGHT_CORES


def _snapshot(
    cluster_id: uuid.UUID, namespace: str, name: str, taken_at: datetime
) -> ClusterSnapshot:
    """The cluster at `taken_at`, with the last hour's samples every five minutes."""
    nodes = [node("node-a"), node("node-b")]
    service = deployment(name, replicas=REPLICAS, namespace=namespace)
    pods = [
        deployment_pod(name, i, nodes[i % 2].name, namespace=namespace) for i in range(REPLICAS)
    ]
    times = [taken_at - timedelta(minutes=5 * k) for k in range(11, -1, -1)]
    samples = [
        sample(pod, at, cpu=_demand(at) / REPLICAS, memory=300 * 2**20)
        for at in times
        for pod in pods
    ]
    return ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(
            cluster_id=cluster_id, name="e2e-autoscaling", provider=Provider.AWS, region="eu-west-1"
        ),
        taken_at=taken_at,
        agent_version="0.1.0",
        nodes=nodes,
        pods=pods,
        workloads=[service],
        usage=Usage(containers=samples),
    )


async def _analysed_recommendation(
    saas: Saas, credentials: ClusterCredentials, namespace: str, name: str
) -> Recommendation:
    """Fold a day of snapshots, run the workers' analysis; the stored autoscaling advice."""
    database, tenant_id, cluster_id = saas.database, saas.tenant.id, credentials.cluster.id
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    ingest = SnapshotIngest(database)
    for hour in range(HOURS - 1, -1, -1):
        taken_at = end - timedelta(hours=hour)
        snapshot = _snapshot(cluster_id, namespace, name, taken_at)
        await ingest.apply(
            SnapshotMessage(tenant_id=tenant_id, received_at=taken_at, snapshot=snapshot)
        )
    pricebook = PriceBook(bundled_catalogues(), bundled_spot_advisor())
    await analyse_and_store(database, pricebook, tenant_id, cluster_id, now=end)
    async with database.tenant(tenant_id) as session:
        stored = await RecommendationRepository(session, tenant_id).list(cluster_id)
    [advice] = [
        rec
        for rec in (Recommendation.model_validate(row.body) for row in stored)
        if rec.kind is RecommendationKind.AUTOSCALING
    ]
    return advice


async def _live_deployment(admin: AsyncClient, namespace: str, name: str) -> None:
    """The service's Deployment in the cluster (no controllers run, so no pods)."""
    await admin.create(Namespace(metadata=ObjectMeta(name=namespace)))
    labels = {"app": name}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.invalid/app:1",
                            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }
    # lightkube types from_dict as returning its base mixin.
    await admin.create(cast(Deployment, Deployment.from_dict(body)))


async def test_autoscaling_advice_is_analysed_approved_and_applied_as_an_hpa(
    saas: Saas, cluster_api: KubeApiServer, print_trusted_keys: PrintKeys, tmp_path: Path
) -> None:
    """The analysed advice, once approved, is an HPA in the cluster and shows as applied."""
    gateway = saas.gateway
    provisioning = Provisioning(saas.database, SecretHasher())
    credentials = await provisioning.create_cluster(
        saas.tenant.id, "e2e-autoscaling", actor="test", provider="aws", region="eu-west-1"
    )
    approver = await provisioning.create_client(
        saas.tenant.id, ["console:read", "console:approve"], actor="test"
    )
    token = await fetch_token(gateway, approver.client.client_id, approver.secret)
    namespace, name = f"e2e-{uuid.uuid4().hex[:8]}", "web"
    advice = await _analysed_recommendation(saas, credentials, namespace, name)
    hpa_action = advice.change_set.actions[0]
    assert isinstance(hpa_action, ApplyHpa)
    admin = cluster_api.admin_async_client()
    try:
        await _live_deployment(admin, namespace, name)
        trusted = await print_trusted_keys()
        identity = cluster_api.mint_identity(
            EXECUTOR_RULES, name=f"slicewise-executor-{uuid.uuid4().hex[:6]}"
        )
        kubeconfig = tmp_path / "kubeconfig.yaml"
        kubeconfig.write_text(yaml.safe_dump(identity.kubeconfig_dict()), encoding="utf-8")
        settings = executor_settings(
            gateway,
            credentials,
            trusted,
            kubeconfig,
            tmp_path / "executor",
            allowed=(ActionType.APPLY_HPA, ActionType.SCHEDULE_HPA_MIN_REPLICAS),
        )
        stop, started = asyncio.Event(), asyncio.Event()
        executor = asyncio.create_task(serve_executor(settings, stop, started=started))
        try:
            await asyncio.wait_for(started.wait(), APPLIED_WITHIN)
            async with gateway.client() as http:
                approval = await http.post(
                    f"/v1/console/recommendations/{advice.recommendation_id}/approve",
                    json={"comment": "scale it"},
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
        served = await discover_autoscaling_api(admin)
        live: dict[str, Any] = as_json(
            await admin.get(served.hpa, hpa_action.name, namespace=namespace)
        )
    finally:
        await admin.close()
    async with gateway.client() as http:
        detail = await http.get(
            f"/v1/console/recommendations/{advice.recommendation_id}",
            headers={"Authorization": f"Bearer {token}"},
        )

    assert (state["status"], state["outcome"]) == ("completed", "applied"), state["result"]
    assert live["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name,
    }
    assert live["spec"]["maxReplicas"] == hpa_action.spec.max_replicas
    assert live["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert detail.status_code == 200
    assert detail.json()["summary"]["status"] == "applied"
