"""The snapshot stream the workers bench feeds: per cluster, one snapshot a minute.

Each cluster's first snapshot is built from the Alibaba GPU-sharing trace (`bench.snapshots`);
the following ones keep its inventory (as a real cluster's is stable from one minute to the
next) and carry fresh usage samples a minute later, so every snapshot has a new id and time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.snapshot import ClusterSnapshot, Usage
from protocol.topics import SnapshotMessage, message_key, schema_headers

START = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True)
class EncodedMessage:
    """One snapshot message ready to produce."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    cluster_index: int


def _later(snapshot: ClusterSnapshot, minutes: int, snapshot_id: uuid.UUID) -> ClusterSnapshot:
    shift = timedelta(minutes=minutes)
    usage = snapshot.usage
    return snapshot.model_copy(
        update={
            "snapshot_id": snapshot_id,
            "taken_at": snapshot.taken_at + shift,
            "usage": Usage(
                containers=[
                    s.model_copy(update={"timestamp": s.timestamp + shift})
                    for s in usage.containers
                ],
                nodes=[
                    s.model_copy(update={"timestamp": s.timestamp + shift}) for s in usage.nodes
                ],
                gpus=[s.model_copy(update={"timestamp": s.timestamp + shift}) for s in usage.gpus],
            ),
        }
    )


def snapshot_stream(
    *,
    nodes_path: Path,
    pods_path: Path,
    tenant_id: uuid.UUID,
    cluster_ids: list[uuid.UUID],
    per_cluster: int,
    pod_count: int,
    seed: int,
) -> list[EncodedMessage]:
    """`per_cluster` snapshots of every cluster, interleaved minute by minute."""
    nodes, pods = read_trace_nodes(nodes_path), read_trace_pods(pods_path)
    firsts = [
        build_snapshot(
            nodes,
            pods,
            SnapshotSpec(
                cluster_id=cluster_id,
                snapshot_id=uuid.uuid5(cluster_id, f"{seed}/0"),
                taken_at=START,
                pod_count=pod_count,
                seed=seed * 1000 + index,
            ),
        )
        for index, cluster_id in enumerate(cluster_ids)
    ]
    messages = []
    for minute in range(per_cluster):
        for index, first in enumerate(firsts):
            cluster_id = cluster_ids[index]
            snapshot_id = uuid.uuid5(cluster_id, f"{seed}/{minute}")
            snapshot = first if minute == 0 else _later(first, minute, snapshot_id)
            message = SnapshotMessage(
                tenant_id=tenant_id, received_at=snapshot.taken_at, snapshot=snapshot
            )
            messages.append(
                EncodedMessage(
                    key=message_key(tenant_id, cluster_id),
                    value=message.model_dump_json().encode(),
                    headers=schema_headers(snapshot_id),
                    cluster_index=index,
                )
            )
    return messages
