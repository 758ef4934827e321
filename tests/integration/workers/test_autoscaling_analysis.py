"""GPU autoscaling advice from the workers' analysis in the real database, KEDA's address set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from protocol.changes import ApplyScaledObject
from protocol.recommendation import Recommendation, RecommendationKind
from protocol.resources import GPU_RESOURCE
from protocol.snapshot import (
    ClusterSnapshot,
    ContainerUsage,
    GpuUsage,
    HorizontalPodAutoscaler,
    Usage,
)
from protocol.topics import SnapshotMessage
from recommender.pricing.bundled import bundled_catalogues, bundled_spot_advisor
from recommender.pricing.pricebook import PriceBook
from store.database import Database
from store.repositories.clusters import ClusterRepository
from store.repositories.recommendations import RecommendationRepository
from store.repositories.tenants import TenantRepository, TenantView
from tests.unit.recommender.factories import container, node, pod_of, snapshot, spec, workload
from workers.autoscaling_settings import PROMETHEUS_SERVER_ADDRESS, PROMETHEUS_SERVER_ADDRESSES
from workers.ingest.handler import SnapshotIngest
from workers.tasks.analysis_job import analyse_and_store

END = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
REPLICAS = 8
SERVED = workload(
    "llm",
    replicas=REPLICAS,
    template=spec(container("app", cpu=1000, extended={GPU_RESOURCE: 1})),
)
KEDA_HPA = HorizontalPodAutoscaler(
    namespace="shop",
    name="keda-hpa-queue-worker",
    target_kind="Deployment",
    target_name="queue-worker",
    max_replicas=4,
)
"""The HPA KEDA made for another ScaledObject: this cluster runs KEDA."""
OWN_ADDRESS = "http://prometheus-k8s.monitoring.svc:9090"
TENANT_ADDRESS = "http://prometheus.tenant-wide.svc:9090"


def _busy_gpus(at: datetime) -> float:
    return 5.0 if 9 <= at.hour < 17 else 1.0


def _hour(cluster_id: uuid.UUID, taken_at: datetime) -> ClusterSnapshot:
    """The cluster at `taken_at`, with CPU and GPU samples of the last hour, 5 minutes apart."""
    nodes = [
        node("gpu-a", gpus=8, instance_type="p3.16xlarge"),
        node("gpu-b", gpus=8, instance_type="p3.16xlarge"),
    ]
    pods = [pod_of(SERVED, i, nodes[i % 2].name) for i in range(REPLICAS)]
    times = [taken_at - timedelta(minutes=5 * k) for k in range(11, -1, -1)]
    cpu = [
        ContainerUsage(
            namespace=p.namespace,
            pod=p.name,
            container="app",
            timestamp=at,
            cpu_cores=0.2,
            memory_bytes=2**30,
        )
        for at in times
        for p in pods
    ]
    gpus = [
        GpuUsage(
            node=p.node_name or "",
            gpu_index=i // 2,
            namespace=p.namespace,
            pod=p.name,
            container="app",
            timestamp=at,
            utilization=_busy_gpus(at) / REPLICAS,
            memory_used_bytes=2**33,
        )
        for at in times
        for i, p in enumerate(pods)
    ]
    base = snapshot(nodes, pods, [SERVED], hpas=[KEDA_HPA])
    return base.model_copy(
        update={
            "snapshot_id": uuid.uuid4(),
            "cluster": base.cluster.model_copy(update={"cluster_id": cluster_id}),
            "taken_at": taken_at,
            "usage": Usage(containers=cpu, gpus=gpus),
        }
    )


async def test_gpu_advice_names_the_clusters_own_prometheus(
    database: Database, tenant: TenantView
) -> None:
    """A day of GPU duty where KEDA runs: the stored ScaledObject asks the cluster's Prometheus."""
    async with database.tenant(tenant.id) as session:
        cluster = await ClusterRepository(session, tenant.id).create(
            f"gpu-{uuid.uuid4().hex[:6]}", provider="aws", region="us-east-1"
        )
        await TenantRepository(session).update_settings(
            {
                PROMETHEUS_SERVER_ADDRESS: TENANT_ADDRESS,
                PROMETHEUS_SERVER_ADDRESSES: {str(cluster.id): OWN_ADDRESS},
            }
        )
    ingest = SnapshotIngest(database)
    for hour in range(25, -1, -1):
        taken_at = END - timedelta(hours=hour)
        await ingest.apply(
            SnapshotMessage(
                tenant_id=tenant.id, received_at=taken_at, snapshot=_hour(cluster.id, taken_at)
            )
        )
    pricebook = PriceBook(bundled_catalogues(), bundled_spot_advisor())

    await analyse_and_store(database, pricebook, tenant.id, cluster.id, now=END)

    async with database.tenant(tenant.id) as session:
        stored = await RecommendationRepository(session, tenant.id).list(cluster.id)
    [advice] = [
        rec
        for rec in (Recommendation.model_validate(row.body) for row in stored)
        if rec.kind is RecommendationKind.AUTOSCALING
    ]
    [action] = advice.change_set.actions
    assert isinstance(action, ApplyScaledObject)
    [trigger] = action.spec.prometheus
    assert trigger.server_address == OWN_ADDRESS
    assert advice.evidence["driver"] == "gpu"
