"""Deterministic snapshots, messages and records for worker tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiokafka.structs import ConsumerRecord

from protocol import SCHEMA_VERSION
from protocol.resources import Resources
from protocol.snapshot import (
    LABEL_CAPACITY,
    LABEL_INSTANCE_TYPE,
    LABEL_ZONE,
    ClusterInfo,
    ClusterSnapshot,
    Container,
    ContainerUsage,
    Node,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    PodPhase,
    PodSpecSummary,
    Provider,
    Usage,
    Workload,
    WorkloadKind,
)
from protocol.spot import NoticeKind, SpotNotice
from protocol.topics import (
    MESSAGE_ID_HEADER,
    SCHEMA_VERSION_HEADER,
    SnapshotMessage,
    SpotNoticeMessage,
    message_key,
)
from protocol.usage_grid import MEBIBYTES_BY_STEP, MILLICORES_BY_STEP, cpu_step, memory_step

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
GIB = 2**30


def node(name: str, *, spot: bool = False, zone: str = "eu-west-1a") -> Node:
    """An 8-core, 32 GiB m5.2xlarge node."""
    return Node(
        name=name,
        uid=f"uid-{name}",
        resource_version="1",
        labels={
            LABEL_INSTANCE_TYPE: "m5.2xlarge",
            LABEL_ZONE: zone,
            LABEL_CAPACITY: "spot" if spot else "on-demand",
        },
        capacity=Resources(cpu_millis=8000, memory_bytes=32 * GIB),
        allocatable=Resources(cpu_millis=7800, memory_bytes=30 * GIB),
    )


def spec(
    container: str = "app", *, cpu_millis: int = 500, memory_bytes: int = GIB
) -> PodSpecSummary:
    """One container requesting `cpu_millis` and `memory_bytes` (limit = request for memory)."""
    return PodSpecSummary(
        containers=[
            Container(
                name=container,
                requests=Resources(cpu_millis=cpu_millis, memory_bytes=memory_bytes),
                limits=Resources(memory_bytes=memory_bytes),
            )
        ]
    )


def deployment(name: str, *, replicas: int = 2, namespace: str = "shop") -> Workload:
    """A Deployment whose pods are labelled app=<name>."""
    return Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace=namespace,
        name=name,
        uid=f"uid-{name}",
        resource_version="7",
        replicas=replicas,
        ready_replicas=replicas,
        selector={"app": name},
        template_labels={"app": name},
        template=spec(),
    )


def deployment_pod(
    workload: str,
    index: int,
    node_name: str,
    *,
    namespace: str = "shop",
    oom_at: datetime | None = None,
) -> Pod:
    """Replica `index` of Deployment `workload` (owner chain ReplicaSet -> Deployment)."""
    pod_spec = spec()
    if oom_at is not None:
        container = pod_spec.containers[0].model_copy(
            update={"last_termination_reason": "OOMKilled", "last_oom_kill_at": oom_at}
        )
        pod_spec = pod_spec.model_copy(update={"containers": [container]})
    return Pod(
        namespace=namespace,
        name=f"{workload}-7d9f-{index}",
        uid=f"uid-{workload}-{index}",
        resource_version=str(100 + index),
        labels={"app": workload},
        node_name=node_name,
        phase=PodPhase.RUNNING,
        owners=[
            OwnerRef(kind="ReplicaSet", name=f"{workload}-7d9f"),
            OwnerRef(kind="Deployment", name=workload),
        ],
        spec=pod_spec,
        ready=True,
    )


def sample(
    pod: Pod, at: datetime, *, cpu: float, memory: int, throttled: float | None = None
) -> ContainerUsage:
    """One usage sample of the pod's first container."""
    return ContainerUsage(
        namespace=pod.namespace,
        pod=pod.name,
        container=pod.spec.containers[0].name,
        timestamp=at,
        cpu_cores=cpu,
        memory_bytes=memory,
        cpu_throttled_fraction=throttled,
    )


def on_grid(usage: Usage) -> Usage:
    """The container samples' figures moved onto the grid the stored histograms keep (up), which
    deltas carry exactly: a full snapshot of them folds as the deltas do, byte for byte."""
    return usage.model_copy(
        update={
            "containers": [
                s.model_copy(
                    update={
                        "cpu_cores": MILLICORES_BY_STEP[cpu_step(s.cpu_cores)] / 1000,
                        "memory_bytes": MEBIBYTES_BY_STEP[memory_step(s.memory_bytes)] * 2**20,
                    }
                )
                for s in usage.containers
            ]
        }
    )


def shop_snapshot(
    cluster_id: uuid.UUID,
    sequence: int,
    *,
    workloads: int = 2,
    replicas: int = 2,
    snapshot_id: uuid.UUID | None = None,
    taken_at: datetime | None = None,
) -> ClusterSnapshot:
    """Snapshot number `sequence` (one minute apart) of a small shop cluster, with usage.

    The usage values depend only on `sequence` and the pod, so two clusters fed the same
    sequence numbers fold identical states.
    """
    at = taken_at or T0 + timedelta(minutes=sequence)
    nodes = [node("node-a"), node("node-b", spot=True, zone="eu-west-1b")]
    deployments = [deployment(f"web{w}", replicas=replicas) for w in range(workloads)]
    pods = [
        deployment_pod(d.name, r, nodes[r % len(nodes)].name)
        for d in deployments
        for r in range(replicas)
    ]
    samples = [
        sample(
            pod,
            at,
            cpu=0.1 + 0.01 * ((sequence * 7 + i * 3) % 40),
            memory=(300 + (sequence * 13 + i * 5) % 200) * 2**20,
            throttled=0.2 if (sequence + i) % 5 == 0 else 0.0,
        )
        for i, pod in enumerate(pods)
    ]
    pdbs = [
        PodDisruptionBudget(
            namespace="shop",
            name=f"{d.name}-pdb",
            selector={"app": d.name},
            min_available=1,
            current_healthy=replicas,
            desired_healthy=1,
            disruptions_allowed=max(replicas - 1, 0),
            expected_pods=replicas,
        )
        for d in deployments
    ]
    return ClusterSnapshot(
        snapshot_id=snapshot_id or uuid.uuid5(cluster_id, f"snapshot-{sequence}"),
        cluster=ClusterInfo(
            cluster_id=cluster_id, name="shop", provider=Provider.AWS, region="eu-west-1"
        ),
        taken_at=at,
        agent_version="0.1.0",
        nodes=nodes,
        pods=pods,
        workloads=deployments,
        pdbs=pdbs,
        usage=Usage(containers=samples),
    )


def snapshot_message(tenant_id: uuid.UUID, snapshot: ClusterSnapshot) -> SnapshotMessage:
    """The gateway's message for `snapshot`."""
    return SnapshotMessage(tenant_id=tenant_id, received_at=snapshot.taken_at, snapshot=snapshot)


def headers(version: str = SCHEMA_VERSION) -> list[tuple[str, bytes]]:
    """The headers the gateway sets, with a chosen schema version."""
    return [
        (SCHEMA_VERSION_HEADER, version.encode()),
        (MESSAGE_ID_HEADER, str(uuid.uuid4()).encode()),
    ]


def record(
    value: bytes | None,
    *,
    topic: str = "snapshots",
    offset: int = 0,
    key: bytes | None = None,
    record_headers: list[tuple[str, bytes]] | None = None,
) -> ConsumerRecord[bytes, bytes]:
    """A consumed record as aiokafka hands it over."""
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value or b""),
        headers=headers() if record_headers is None else record_headers,
    )


def message_record(message: SnapshotMessage, *, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    """The record carrying `message`."""
    return record(
        message.model_dump_json().encode(),
        offset=offset,
        key=message_key(message.tenant_id, message.snapshot.cluster.cluster_id),
    )


def spot_notice(
    tenant_id: uuid.UUID, cluster_id: uuid.UUID, node_name: str = "node-b", *, at: datetime = T0
) -> SpotNoticeMessage:
    """A two-minute AWS termination notice for `node_name`, as the gateway forwards it."""
    notice = SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=cluster_id,
        provider=Provider.AWS,
        kind=NoticeKind.TERMINATION,
        node_name=node_name,
        detected_at=at,
        deadline=at + timedelta(minutes=2),
        action="terminate",
    )
    return SpotNoticeMessage(tenant_id=tenant_id, received_at=at, notice=notice)
