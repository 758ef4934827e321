"""Realistic console data written through the repositories: clusters, inventory, usage, advice.

Usage histograms are folded from real traces (a Bitbrains VM for CPU and memory, an Alibaba
GenAI inference container for GPU memory and duty cycle) with the recommender's own usage state,
and each recommendation carries a real change set computed from those figures.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from auth.instruction_signing import InstructionKeyring, generate_signing_key
from auth.provisioning import Provisioning
from gateway.console.instruction_issue import SignedInstructionIssuer
from protocol.changes import (
    ActionType,
    ApplyPdb,
    ChangeSet,
    ContainerResources,
    Cordon,
    Drain,
    LabelNode,
    PatchResources,
    PatchScheduling,
    WorkloadRef,
)
from protocol.instruction import ActionOutcome, InstructionResult, Outcome
from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind, Risk
from protocol.resources import Resources
from protocol.snapshot import (
    ClusterInfo,
    ClusterSnapshot,
    Container,
    GpuInfo,
    Node,
    OwnerRef,
    Pod,
    PodPhase,
    PodSpecSummary,
    Provider,
    QosClass,
    Toleration,
    Workload,
    WorkloadKind,
)
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from recommender.rightsizing.recommend import recommend_rightsizing
from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey as UsageKey
from recommender.usage.state import ContainerUsageState
from store.database import Database
from store.repositories.audit import AuditRepository
from store.repositories.cluster_costs import ClusterCostRepository
from store.repositories.clusters import ClusterRepository, ClusterView
from store.repositories.console_decisions import Decision, DecisionRepository
from store.repositories.instructions import InstructionRepository
from store.repositories.inventory import InventoryItem, InventoryRepository
from store.repositories.recommendations import NewRecommendation, RecommendationRepository
from store.repositories.snapshots import SnapshotRepository
from store.repositories.usage_states import ContainerKey, UsageStateRecord, UsageStateRepository
from tests.integration.console.traces import bitbrains_vm, genai_container
from tests.integration.store.advanced_clusters import advance_cluster

GIB = 2**30
HOURS_PER_MONTH = 730.0
A100_HOUR_USD = 4.096
"""p4de.24xlarge per GPU-hour (eight A100 80 GB)."""
XSS_NAME = "<script>alert(1)</script>"
_TEAMS = {"shop": "payments", "ml": "ml-platform", "batch": "data"}
PASSWORD = "correct horse battery staple"


@dataclass
class SeededTenant:
    """What was written for one tenant."""

    tenant_id: uuid.UUID
    clusters: dict[str, ClusterView] = field(default_factory=dict)
    recommendations: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    """Role -> e-mail address (every password is `PASSWORD`)."""


def _deployment(
    namespace: str,
    name: str,
    containers: list[Container],
    *,
    replicas: int,
    version: str,
    tolerations: list[Toleration] | None = None,
) -> Workload:
    labels = {"app.kubernetes.io/name": name[:63]}
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace=namespace,
        name=name,
        uid=f"uid-{uuid.uuid4().hex[:12]}",
        resource_version=version,
        labels={**labels, "team": _TEAMS.get(namespace, "platform")},
        replicas=replicas,
        ready_replicas=replicas,
        selector=labels,
        template_labels=labels,
        template=PodSpecSummary(containers=containers, tolerations=tolerations or []),
    )


def _node(name: str, *, spot: bool, gpus: int = 0, version: str = "5501") -> Node:
    labels = {
        "node.kubernetes.io/instance-type": "p4de.24xlarge" if gpus else "m6i.4xlarge",
        "topology.kubernetes.io/zone": "eu-west-1a",
        "node.kubernetes.io/capacity": "spot" if spot else "on-demand",
    }
    extended = {"nvidia.com/gpu": gpus} if gpus else {}
    return Node(
        name=name,
        uid=f"uid-{name}",
        resource_version=version,
        labels=labels,
        capacity=Resources(cpu_millis=16_000, memory_bytes=64 * GIB, extended=extended),
        allocatable=Resources(cpu_millis=15_890, memory_bytes=61 * GIB, extended=extended),
        gpu=GpuInfo(product="NVIDIA-A100-SXM4-80GB", count=gpus, memory_mib=81_920)
        if gpus
        else None,
    )


def _item(kind: str, namespace: str, model: Workload | Node | Pod) -> InventoryItem:
    return InventoryItem(
        kind,
        namespace,
        model.name,
        model.uid,
        model.resource_version,
        model.model_dump_json(),
    )


def _rightsizing_state(now: datetime) -> ContainerUsageState:
    trace = bitbrains_vm()
    state = ContainerUsageState()
    seconds = now.timestamp() - trace.offsets[-1] + trace.offsets
    state.fold(seconds, trace.cores, trace.memory_bytes, cpu_request_cores=2.0)
    return state


def _pods(workload: Workload, nodes: list[Node]) -> list[Pod]:
    replica_set = f"{workload.name}-7c9d5f"
    return [
        Pod(
            namespace=workload.namespace,
            name=f"{replica_set}-{index}",
            uid=f"uid-pod-{uuid.uuid4().hex[:10]}",
            labels=dict(workload.template_labels),
            node_name=nodes[index % len(nodes)].name,
            phase=PodPhase.RUNNING,
            qos_class=QosClass.BURSTABLE,
            owners=[
                OwnerRef(kind="ReplicaSet", name=replica_set),
                OwnerRef(kind=workload.kind.value, name=workload.name),
            ],
            spec=workload.template,
            ready=True,
        )
        for index in range(workload.replicas or 0)
    ]


def _recommended_rightsizing(
    cluster: ClusterView,
    workload: Workload,
    *,
    nodes: list[Node],
    pods: list[Pod],
    state: ContainerUsageState,
    now: datetime,
) -> Recommendation:
    """What the recommender itself advises for the workload, from its real usage state."""
    snapshot = ClusterSnapshot(
        snapshot_id=uuid.uuid4(),
        cluster=ClusterInfo(
            cluster_id=cluster.id, name=cluster.name, provider=Provider.AWS, region="eu-west-1"
        ),
        taken_at=now,
        nodes=nodes,
        pods=pods,
        workloads=[workload],
    )
    key = UsageKey(workload.namespace, workload.kind.value, workload.name, "api")
    found = recommend_rightsizing(
        snapshot, {key: state}, PriceBook(catalogues=bundled_catalogues()), now
    )
    (recommendation,) = found
    return recommendation


def _gpu_state(now: datetime) -> tuple[ContainerUsageState, dict[str, float], float]:
    trace = genai_container()
    state = ContainerUsageState()
    seconds = now.timestamp() - trace.offsets[-1] + trace.offsets
    # The inference server's host side: steady and small; its GPU memory is the real trace.
    state.fold(seconds, np.full(seconds.shape, 0.6), np.full(seconds.shape, 3.2 * GIB))
    state.gpu_memory.add_samples(trace.memory_used_bytes, np.ones(seconds.shape), seconds)
    duty = {
        "p50": round(float(np.percentile(trace.duty_cycle, 50)), 3),
        "p95": round(float(np.percentile(trace.duty_cycle, 95)), 3),
        "max": round(float(trace.duty_cycle.max()), 3),
    }
    return state, duty, float(trace.memory_used_bytes.max())


def _recommendation(
    cluster: ClusterView,
    kind: RecommendationKind,
    *,
    title: str,
    reason: str,
    risk: Risk,
    saving: float,
    change_set: ChangeSet,
    now: datetime,
    workload: Workload | None = None,
    node: str | None = None,
    evidence: dict[str, object] | None = None,
    risk_note: str = "",
    computed_from: list[ObjectVersion] | None = None,
) -> Recommendation:
    return Recommendation.model_validate(
        {
            "recommendation_id": str(uuid.uuid4()),
            "cluster_id": str(cluster.id),
            "kind": kind.value,
            "workload": None
            if workload is None
            else {
                "kind": workload.kind.value,
                "namespace": workload.namespace,
                "name": workload.name,
            },
            "node": node,
            "title": title,
            "reason": reason,
            "evidence": evidence or {},
            "risk": risk.value,
            "risk_note": risk_note,
            "monthly_saving_usd": round(saving, 2),
            "confidence": 0.9,
            "change_set": change_set.model_dump(mode="json"),
            "computed_from": [v.model_dump(mode="json") for v in computed_from or []],
            "created_at": now.isoformat(),
        }
    )


def _workload_version(workload: Workload) -> ObjectVersion:
    return ObjectVersion(
        kind=workload.kind.value,
        namespace=workload.namespace,
        name=workload.name,
        resource_version=workload.resource_version,
    )


async def _store(
    database: Database,
    tenant_id: uuid.UUID,
    cluster: ClusterView,
    recommendations: list[Recommendation],
) -> list[uuid.UUID]:
    async with database.tenant(tenant_id) as session:
        repository = RecommendationRepository(session, tenant_id)
        ids = []
        for rec in recommendations:
            target = rec.workload.name if rec.workload else rec.node
            stored = await repository.create(
                cluster.id,
                NewRecommendation(
                    id=rec.recommendation_id,
                    kind=rec.kind.value,
                    fingerprint=f"{rec.kind.value}:{target}:{rec.recommendation_id.hex[:6]}",
                    monthly_saving_usd=rec.monthly_saving_usd,
                    body=rec.model_dump(mode="json"),
                    created_at=rec.created_at,
                ),
            )
            ids.append(stored.id)
    return ids


async def _inventory(
    database: Database,
    tenant_id: uuid.UUID,
    cluster: ClusterView,
    items: list[InventoryItem],
    now: datetime,
) -> None:
    async with database.tenant(tenant_id) as session:
        await InventoryRepository(session, tenant_id).replace(
            cluster.id, snapshot_id=uuid.uuid4(), observed_at=now, items=items
        )
        await advance_cluster(
            SnapshotRepository(session, tenant_id),
            cluster.id,
            None,
            taken_at=now - timedelta(seconds=40),
            agent_version="0.1.0",
        )


async def _usage(
    database: Database,
    tenant_id: uuid.UUID,
    *,
    cluster: ClusterView,
    workload: Workload,
    container: str,
    state: ContainerUsageState,
    now: datetime,
) -> None:
    async with database.tenant(tenant_id) as session:
        await UsageStateRepository(session, tenant_id).put_many(
            cluster.id,
            [
                UsageStateRecord(
                    ContainerKey(workload.namespace, workload.kind.value, workload.name, container),
                    ContainerHistory(state).to_bytes(),
                    state.signals.samples,
                    now - timedelta(seconds=state.signals.history_seconds),
                    now,
                )
            ],
        )


async def _costs(
    database: Database, tenant_id: uuid.UUID, cluster: ClusterView, monthly: float, now: datetime
) -> None:
    async with database.tenant(tenant_id) as session:
        costs = ClusterCostRepository(session, tenant_id)
        for day in range(90, -1, -6):
            wobble = 1 + 0.04 * math.sin(day / 5)
            await costs.record(
                cluster.id,
                computed_at=now - timedelta(days=day),
                monthly_cost_usd=round(monthly * wobble, 2),
                node_count=12,
            )


async def seed_tenant(
    database: Database,
    provisioning: Provisioning,
    tenant_id: uuid.UUID,
    *,
    now: datetime,
    label: str,
) -> SeededTenant:
    """Two clusters with live inventory, real usage and one recommendation of every kind."""
    seeded = SeededTenant(tenant_id)
    for role in ("viewer", "approver", "admin"):
        email = f"{role}-{label}-{uuid.uuid4().hex[:6]}@example.com"
        await provisioning.create_user(tenant_id, email, role, actor="seed", password=PASSWORD)
        seeded.users[role] = email
    async with database.tenant(tenant_id) as session:
        clusters = ClusterRepository(session, tenant_id)
        prod = await clusters.create(f"prod-eu-west-1-{label}", provider="aws", region="eu-west-1")
        ml = await clusters.create(f"ml-inference-{label}", provider="aws", region="eu-west-1")
    seeded.clusters = {"prod": prod, "ml": ml}

    state = _rightsizing_state(now)
    checkout = _deployment(
        "shop",
        "checkout-api",
        [
            Container(
                name="api",
                image="registry.example.com/shop/checkout:4.12.0",
                requests=Resources(cpu_millis=2000, memory_bytes=8 * GIB),
                limits=Resources(memory_bytes=8 * GIB),
            )
        ],
        replicas=6,
        version="918273",
    )
    hostile = _deployment(
        "web",
        XSS_NAME,
        [Container(name="app", requests=Resources(cpu_millis=1000, memory_bytes=2 * GIB))],
        replicas=2,
        version="77",
    )
    reports = _deployment(
        "batch",
        "report-worker",
        [Container(name="worker", requests=Resources(cpu_millis=4000, memory_bytes=16 * GIB))],
        replicas=4,
        version="4410",
    )
    gpu_state, duty, gpu_peak = _gpu_state(now)
    inference = _deployment(
        "ml",
        "llm-inference",
        [
            Container(
                name="server",
                image="vllm/vllm-openai:0.6.3",
                requests=Resources(cpu_millis=4000, memory_bytes=32 * GIB),
                limits=Resources(extended={"nvidia.com/gpu": 1}),
            )
        ],
        replicas=4,
        version="20481",
    )
    nodes = [_node(f"ip-10-0-{i}-17.eu-west-1.compute.internal", spot=False) for i in range(1, 4)]
    gpu_node = _node("ip-10-8-0-5.eu-west-1.compute.internal", spot=False, gpus=8, version="991")
    checkout_pods = _pods(checkout, nodes)
    await _inventory(
        database,
        tenant_id,
        prod,
        [_item("Deployment", w.namespace, w) for w in (checkout, hostile, reports)]
        + [_item("Node", "", n) for n in nodes]
        + [_item("Pod", p.namespace, p) for p in checkout_pods],
        now,
    )
    await _inventory(
        database,
        tenant_id,
        ml,
        [_item("Deployment", "ml", inference), _item("Node", "", gpu_node)],
        now,
    )
    await _usage(
        database, tenant_id, cluster=prod, workload=checkout, container="api", state=state, now=now
    )
    await _usage(
        database,
        tenant_id,
        cluster=ml,
        workload=inference,
        container="server",
        state=gpu_state,
        now=now,
    )
    await _costs(database, tenant_id, prod, 41_870.0, now)
    await _costs(database, tenant_id, ml, 96_400.0, now)

    rightsizing = _recommended_rightsizing(
        prod, checkout, nodes=nodes, pods=checkout_pods, state=state, now=now - timedelta(hours=5)
    )
    xss = _recommendation(
        prod,
        RecommendationKind.RIGHTSIZING,
        title=f"Right-size web/{XSS_NAME}",
        reason=f"{XSS_NAME} requests far more CPU than it uses.",
        risk=Risk.MEDIUM,
        saving=412.5,
        workload=hostile,
        change_set=ChangeSet(
            actions=[
                PatchResources(
                    target=WorkloadRef(
                        kind=WorkloadKind.DEPLOYMENT, namespace="web", name=XSS_NAME
                    ),
                    containers=[
                        ContainerResources(container="app", requests=Resources(cpu_millis=250))
                    ],
                )
            ]
        ),
        evidence={"note": XSS_NAME},
        now=now - timedelta(hours=3),
        computed_from=[_workload_version(hostile)],
    )
    spot_tolerations = [
        Toleration(
            key="node.kubernetes.io/capacity", operator="Equal", value="spot", effect="NoSchedule"
        )
    ]
    spot = _recommendation(
        prod,
        RecommendationKind.SPOT,
        title="Run batch/report-worker on spot capacity",
        reason="Four stateless replicas that tolerate restarts; m6i.4xlarge spot in eu-west-1 "
        "is interrupted less than 5 % of the time.",
        risk=Risk.MEDIUM,
        risk_note="A spot reclaim restarts at most one replica at a time (PodDisruptionBudget).",
        saving=4 * 0.768 * 0.62 * HOURS_PER_MONTH,
        workload=reports,
        change_set=ChangeSet(
            actions=[
                PatchScheduling(
                    target=WorkloadRef(
                        kind=WorkloadKind.DEPLOYMENT, namespace="batch", name="report-worker"
                    ),
                    tolerations=spot_tolerations,
                    node_affinity={
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 100,
                                "preference": {
                                    "matchExpressions": [
                                        {
                                            "key": "node.kubernetes.io/capacity",
                                            "operator": "In",
                                            "values": ["spot"],
                                        }
                                    ]
                                },
                            }
                        ]
                    },
                ),
                ApplyPdb(
                    namespace="batch",
                    name="report-worker",
                    selector={"app.kubernetes.io/name": "report-worker"},
                    max_unavailable=1,
                ),
            ]
        ),
        evidence={
            "interruption_bucket": "<5%",
            "spot_discount": 0.62,
            "on_demand_hourly_usd": 0.768,
            "spot_hourly_usd": 0.292,
            "replicas": 4,
        },
        now=now - timedelta(days=1),
        computed_from=[_workload_version(reports)],
    )
    mig = "nvidia.com/mig-3g.40gb"
    gpu = _recommendation(
        ml,
        RecommendationKind.GPU_SHARING,
        title="Share A100s for ml/llm-inference: one 3g.40gb MIG slice per replica",
        reason=f"Each replica holds a whole A100 80 GB but keeps its kernels busy "
        f"{duty['p95'] * 100:.0f} % of the time at p95 and never uses more than "
        f"{gpu_peak / GIB:.1f} GiB of GPU memory.",
        risk=Risk.MEDIUM,
        risk_note="Latency rises if a replica needs more than 3/7 of an A100's compute.",
        saving=4 * A100_HOUR_USD * 0.5 * HOURS_PER_MONTH,
        workload=inference,
        change_set=ChangeSet(
            actions=[
                LabelNode(node=gpu_node.name, labels={"nvidia.com/mig.config": "all-3g.40gb"}),
                PatchResources(
                    target=WorkloadRef(
                        kind=WorkloadKind.DEPLOYMENT, namespace="ml", name="llm-inference"
                    ),
                    containers=[
                        ContainerResources(
                            container="server",
                            limits=Resources(extended={mig: 1}),
                            remove_limits=["nvidia.com/gpu"],
                        )
                    ],
                ),
            ]
        ),
        evidence={
            "gpu_utilization": duty,
            "gpu_memory_peak_bytes": gpu_peak,
            "mig_profile": "3g.40gb",
            "gpus_freed": 2,
        },
        now=now - timedelta(hours=9),
        computed_from=[_workload_version(inference)],
    )
    consolidation = _recommendation(
        prod,
        RecommendationKind.CONSOLIDATION,
        title=f"Remove node {nodes[2].name}",
        reason="Its pods fit on the two other nodes with 30 % headroom left.",
        risk=Risk.LOW,
        saving=0.768 * HOURS_PER_MONTH,
        node=nodes[2].name,
        change_set=ChangeSet(actions=[Cordon(node=nodes[2].name), Drain(node=nodes[2].name)]),
        now=now - timedelta(hours=30),
    )
    ids = await _store(database, tenant_id, prod, [rightsizing, xss, spot, consolidation])
    seeded.recommendations.update(
        zip(("rightsizing", "xss", "spot", "consolidation"), ids, strict=True)
    )
    (gpu_id,) = await _store(database, tenant_id, ml, [gpu])
    seeded.recommendations["gpu"] = gpu_id
    history = await decided_history(database, tenant_id, prod, now=now)
    seeded.recommendations.update((f"applied-{i}", rec_id) for i, rec_id in enumerate(history))
    return seeded


async def many_recommendations(
    database: Database,
    tenant_id: uuid.UUID,
    cluster: ClusterView,
    count: int,
    *,
    now: datetime,
    savings: Sequence[float] | None = None,
    prefix: str = "svc",
) -> list[uuid.UUID]:
    """`count` right-sizing recommendations, saving $10, $20, ... unless `savings` are given."""
    recommendations = []
    for index in range(count):
        name = f"{prefix}-{index:03d}"
        target = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="fleet", name=name)
        recommendations.append(
            _recommendation(
                cluster,
                RecommendationKind.RIGHTSIZING,
                title=f"Right-size fleet/{name}",
                reason="Requests exceed observed use.",
                risk=Risk.LOW,
                saving=savings[index] if savings is not None else 10.0 * (index + 1),
                change_set=ChangeSet(
                    actions=[
                        PatchResources(
                            target=target,
                            containers=[
                                ContainerResources(
                                    container="app", requests=Resources(cpu_millis=100)
                                )
                            ],
                        )
                    ]
                ),
                now=now - timedelta(minutes=index),
            )
        )
    return await _store(database, tenant_id, cluster, recommendations)


async def decided_history(
    database: Database, tenant_id: uuid.UUID, cluster: ClusterView, *, now: datetime
) -> list[uuid.UUID]:
    """Three right-sizings approved 60, 40 and 20 days ago, each applied by the executor a day
    later, as approval and the instruction results handler record them."""
    savings = (900.0, 1400.0, 2300.0)
    ids = await many_recommendations(
        database,
        tenant_id,
        cluster,
        3,
        now=now - timedelta(days=61),
        savings=savings,
        prefix="worker",
    )
    issuer = SignedInstructionIssuer(lambda: InstructionKeyring(current=generate_signing_key()))
    for days_ago, recommendation_id, saving in zip((60, 40, 20), ids, savings, strict=True):
        decided_at = now - timedelta(days=days_ago)
        applied_at = decided_at + timedelta(days=1)
        async with database.tenant(tenant_id) as session:
            decided = await DecisionRepository(session, tenant_id).decide(
                recommendation_id, Decision.APPROVE, actor="ops@example.com", now=decided_at
            )
            issued = await issuer.issue(
                session,
                tenant_id=tenant_id,
                recommendation=Recommendation.model_validate(decided.body),
                now=decided_at,
            )
            await InstructionRepository(session, tenant_id).record_result(
                InstructionResult(
                    instruction_id=issued.id,
                    cluster_id=cluster.id,
                    outcome=Outcome.APPLIED,
                    actions=[
                        ActionOutcome(
                            index=0, type=ActionType.PATCH_RESOURCES, outcome=Outcome.APPLIED
                        )
                    ],
                    started_at=applied_at - timedelta(seconds=20),
                    finished_at=applied_at,
                    executor_version="0.1.0",
                ),
                now=applied_at,
            )
            await AuditRepository(session, tenant_id).append(
                actor="ops@example.com",
                action="recommendation.approved",
                subject_type="recommendation",
                subject_id=str(recommendation_id),
                details={"monthly_saving_usd": saving, "title": decided.body["title"]},
            )
    return ids
