"""Builders of small, valid cluster snapshots for recommender tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from protocol.resources import GPU_RESOURCE, Resources
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_INSTANCE_TYPE,
    LABEL_REGION,
    LABEL_ZONE,
    ClusterInfo,
    ClusterSnapshot,
    Container,
    HorizontalPodAutoscaler,
    Node,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    PodPhase,
    PodSpecSummary,
    Provider,
    Taint,
    Workload,
    WorkloadKind,
)
from recommender.pricing.bundled import bundled_catalogue
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.spot_advisor import parse_spot_advisor

GIB = 2**30
MIB = 2**20
CLUSTER_ID = uuid.UUID(int=1)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RANGES = [
    {"index": 0, "label": "<5%", "dots": 0, "max": 5},
    {"index": 1, "label": "5-10%", "dots": 1, "max": 11},
    {"index": 2, "label": "10-15%", "dots": 2, "max": 16},
    {"index": 3, "label": "15-20%", "dots": 3, "max": 22},
    {"index": 4, "label": ">20%", "dots": 4, "max": 100},
]


def advisor_bytes(offers: dict[str, dict[str, tuple[int, int]]]) -> bytes:
    """A spot advisor document: region -> instance type -> (savings %, bucket)."""
    return json.dumps(
        {
            "ranges": RANGES,
            "instance_types": {},
            "spot_advisor": {
                region: {"Linux": {t: {"s": s, "r": r} for t, (s, r) in types.items()}}
                for region, types in offers.items()
            },
        }
    ).encode()


def pricebook(offers: dict[str, dict[str, tuple[int, int]]] | None = None) -> PriceBook:
    """The bundled AWS catalogue with a small advisor (m5.xlarge: 60 % off, bucket 1)."""
    chosen = offers or {"us-east-1": {"m5.xlarge": (60, 1), "c5.xlarge": (50, 3)}}
    return PriceBook({"aws": bundled_catalogue("aws")}, parse_spot_advisor(advisor_bytes(chosen)))


def node(
    name: str,
    *,
    cpu: int = 4000,
    memory: int = 16 * GIB,
    gpus: int = 0,
    spot: bool = False,
    instance_type: str = "m5.xlarge",
    zone: str = "us-east-1a",
    taints: Sequence[Taint] = (),
    labels: dict[str, str] | None = None,
    unschedulable: bool = False,
) -> Node:
    """A ready node labelled with its type, zone, region and capacity type."""
    extended = {GPU_RESOURCE: gpus} if gpus else {}
    resources = Resources(cpu_millis=cpu, memory_bytes=memory, extended=extended)
    return Node(
        name=name,
        uid=f"uid-{name}",
        resource_version="7",
        labels={
            LABEL_INSTANCE_TYPE: instance_type,
            LABEL_ZONE: zone,
            LABEL_REGION: "us-east-1",
            LABEL_CAPACITY: "spot" if spot else "on-demand",
            **(labels or {}),
        },
        taints=list(taints),
        capacity=resources,
        allocatable=resources,
        unschedulable=unschedulable,
        provider_id=f"aws:///{zone}/i-{name}",
    )


def container(
    name: str = "app",
    *,
    cpu: int | None = 500,
    memory: int | None = 1 * GIB,
    cpu_limit: int | None = None,
    memory_limit: int | None = None,
    extended: dict[str, int] | None = None,
) -> Container:
    """A container with requests (and optional limits)."""
    return Container(
        name=name,
        requests=Resources(cpu_millis=cpu, memory_bytes=memory, extended=extended or {}),
        limits=Resources(cpu_millis=cpu_limit, memory_bytes=memory_limit),
    )


def spec(*containers: Container, **fields: object) -> PodSpecSummary:
    """A pod spec (one default container unless given)."""
    return PodSpecSummary.model_validate(
        {"containers": list(containers) or [container()], **fields}
    )


def workload(
    name: str,
    *,
    kind: WorkloadKind = WorkloadKind.DEPLOYMENT,
    replicas: int | None = 3,
    template: PodSpecSummary | None = None,
    annotations: dict[str, str] | None = None,
    min_ready_seconds: int = 0,
) -> Workload:
    """A workload selecting `app=<name>`."""
    return Workload(
        kind=kind,
        namespace="shop",
        name=name,
        uid=f"uid-{name}",
        resource_version="42",
        annotations=annotations or {},
        replicas=replicas,
        selector={"app": name},
        template_labels={"app": name},
        template=template or spec(),
        min_ready_seconds=min_ready_seconds,
    )


def pod_of(
    owner: Workload, index: int, node_name: str | None, pod_spec: PodSpecSummary | None = None
) -> Pod:
    """The `index`-th running pod of a workload, bound to `node_name`."""
    owners = [OwnerRef(kind=owner.kind.value, name=owner.name)]
    if owner.kind is WorkloadKind.DEPLOYMENT:
        owners = [OwnerRef(kind="ReplicaSet", name=f"{owner.name}-5d9f"), *owners]
    return Pod(
        namespace=owner.namespace,
        name=f"{owner.name}-{index}",
        uid=f"uid-{owner.name}-{index}",
        labels={"app": owner.name},
        node_name=node_name,
        phase=PodPhase.RUNNING,
        owners=owners,
        spec=pod_spec or owner.template,
        ready=True,
    )


def pdb(
    name: str,
    app: str,
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    disruptions_allowed: int = 0,
) -> PodDisruptionBudget:
    """A PDB selecting `app=<app>`."""
    return PodDisruptionBudget(
        namespace="shop",
        name=name,
        selector={"app": app},
        min_available=min_available,
        max_unavailable=max_unavailable,
        disruptions_allowed=disruptions_allowed,
    )


def snapshot(
    nodes: Sequence[Node],
    pods: Sequence[Pod] = (),
    workloads: Sequence[Workload] = (),
    pdbs: Sequence[PodDisruptionBudget] = (),
    hpas: Sequence[HorizontalPodAutoscaler] = (),
) -> ClusterSnapshot:
    """A snapshot of an AWS cluster in us-east-1."""
    return ClusterSnapshot(
        snapshot_id=uuid.UUID(int=2),
        cluster=ClusterInfo(
            cluster_id=CLUSTER_ID, name="prod", provider=Provider.AWS, region="us-east-1"
        ),
        taken_at=NOW,
        nodes=list(nodes),
        pods=list(pods),
        workloads=list(workloads),
        pdbs=list(pdbs),
        hpas=list(hpas),
    )
