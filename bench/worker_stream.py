"""The streams the workers bench feeds: per cluster, one upload a minute.

Each cluster's first snapshot is built from the Alibaba GPU-sharing trace (`bench.snapshots`);
the following ones keep its inventory (as a real cluster's is stable from one minute to the
next) and carry the next minute's usage samples, so every snapshot has a new id and time. The
samples' figures are successive minutes of real series (Bitbrains VMs for CPU and memory,
GenAI containers for GPUs; `bench.ingest_usage`), each container following its own series.

`delta_stream` is the same history as a protocol v2 agent uploads it: the first state as a full
snapshot with a sequence number, then one delta a minute with the fresh samples and the pods
that changed that minute (`change_rate` of them, each with a new resourceVersion and one more
container restart), built by the agent's own `agent.delta`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.delta import DeltaTracker
from agent.uplink.uplink import encode_snapshot
from bench.ingest_usage import UsageTraces, with_trace_usage
from bench.snapshots import SnapshotSpec, build_snapshot, read_trace_nodes, read_trace_pods
from protocol.delta import ClusterDelta
from protocol.snapshot import ClusterSnapshot, Pod, Usage
from protocol.topics import (
    DELTA_PAYLOAD,
    PAYLOAD_KIND_HEADER,
    DeltaMessage,
    SnapshotMessage,
    message_key,
    schema_headers,
)

START = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True)
class EncodedMessage:
    """One snapshot message ready to produce."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    cluster_index: int


@dataclass(frozen=True)
class TraceFigures:
    """Where a cluster's samples take their figures: `traces`, each series entered at a minute
    drawn from the cluster's `seed` below `span`."""

    traces: UsageTraces
    seed: int
    span: int

    @classmethod
    def reading(cls, traces: UsageTraces, seed: int, minutes: int) -> TraceFigures:
        """For a cluster of `minutes` uploads: the span the traces leave after them."""
        if traces.minutes < minutes:
            raise ValueError(f"the usage traces have {traces.minutes} minutes, not {minutes}")
        return cls(traces, seed, traces.minutes - minutes + 1)

    def at(self, snapshot: ClusterSnapshot, minute: int) -> Usage:
        """The snapshot's samples with the traces' figures at `minute`."""
        return with_trace_usage(
            snapshot, self.traces, minute=minute, seed=self.seed, span=self.span
        ).usage


def _later(
    snapshot: ClusterSnapshot, minutes: int, snapshot_id: uuid.UUID, figures: TraceFigures
) -> ClusterSnapshot:
    """The snapshot `minutes` later: a new id and time, and samples of that minute."""
    shift = timedelta(minutes=minutes)
    usage = figures.at(snapshot, minutes)
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


def _figures(traces: UsageTraces, seed: int, count: int, minutes: int) -> list[TraceFigures]:
    """Each of `count` clusters' trace figures over `minutes` uploads."""
    return [TraceFigures.reading(traces, seed * 1000 + index, minutes) for index in range(count)]


def _firsts(
    nodes_path: Path,
    pods_path: Path,
    cluster_ids: list[uuid.UUID],
    pod_count: int,
    seed: int,
    *,
    figures: list[TraceFigures],
) -> list[ClusterSnapshot]:
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
    return [
        first.model_copy(update={"usage": each.at(first, 0)})
        for first, each in zip(firsts, figures, strict=True)
    ]


def _restarted(pod: Pod, minute: int) -> Pod:
    """The pod after one of its containers restarted: a new resourceVersion and restart count."""
    first, *rest = pod.spec.containers
    container = first.model_copy(update={"restarts": first.restarts + 1})
    spec = pod.spec.model_copy(update={"containers": [container, *rest]})
    return pod.model_copy(update={"spec": spec, "resource_version": f"{minute}-{pod.name}"})


def with_changed_pods(state: ClusterSnapshot, minute: int, change_rate: float) -> ClusterSnapshot:
    """The state with `change_rate` of its pods changed (a different slice each minute)."""
    pods = list(state.pods)
    count = max(1, round(len(pods) * change_rate))
    start = (minute * count) % max(len(pods), 1)
    for offset in range(count):
        index = (start + offset) % len(pods)
        pods[index] = _restarted(pods[index], minute)
    return state.model_copy(update={"pods": pods})


def _encoded(
    tenant_id: uuid.UUID, cluster_id: uuid.UUID, index: int, upload: ClusterSnapshot | ClusterDelta
) -> EncodedMessage:
    if isinstance(upload, ClusterDelta):
        delta = DeltaMessage(tenant_id=tenant_id, received_at=upload.taken_at, delta=upload)
        return EncodedMessage(
            key=message_key(tenant_id, cluster_id),
            value=delta.model_dump_json().encode(),
            headers=[*schema_headers(upload.delta_id), (PAYLOAD_KIND_HEADER, DELTA_PAYLOAD)],
            cluster_index=index,
        )
    message = SnapshotMessage(tenant_id=tenant_id, received_at=upload.taken_at, snapshot=upload)
    return EncodedMessage(
        key=message_key(tenant_id, cluster_id),
        value=message.model_dump_json().encode(),
        headers=schema_headers(upload.snapshot_id),
        cluster_index=index,
    )


def delta_uploads(
    first: ClusterSnapshot,
    minutes: int,
    change_rate: float,
    figures: TraceFigures,
    *,
    compact: bool = True,
) -> list[ClusterSnapshot | ClusterDelta]:
    """A v2 agent's uploads of one cluster: the first state in full, then a delta a minute
    (samples in a compact usage block, or as series rows when `compact` is false)."""
    tracker = DeltaTracker(full_every=timedelta(days=365), compact=compact)
    state = first
    uploads: list[ClusterSnapshot | ClusterDelta] = []
    for minute in range(minutes):
        if minute:
            moved = _later(
                first, minute, uuid.uuid5(first.cluster.cluster_id, f"m{minute}"), figures
            )
            state = with_changed_pods(state, minute, change_rate).model_copy(
                update={
                    "snapshot_id": moved.snapshot_id,
                    "taken_at": moved.taken_at,
                    "usage": moved.usage,
                }
            )
        delta_id = uuid.uuid5(state.snapshot_id, "delta")
        uploads.append(tracker.next_upload(state, delta_id=delta_id))
    return uploads


def delta_stream(
    *,
    nodes_path: Path,
    pods_path: Path,
    tenant_id: uuid.UUID,
    cluster_ids: list[uuid.UUID],
    per_cluster: int,
    pod_count: int,
    seed: int,
    traces: UsageTraces,
    change_rate: float = 0.01,
    compact: bool = True,
) -> list[EncodedMessage]:
    """Per cluster one full snapshot then `per_cluster - 1` deltas, interleaved minute by minute."""
    figures = _figures(traces, seed, len(cluster_ids), per_cluster)
    firsts = _firsts(nodes_path, pods_path, cluster_ids, pod_count, seed, figures=figures)
    per = [
        delta_uploads(first, per_cluster, change_rate, each, compact=compact)
        for first, each in zip(firsts, figures, strict=True)
    ]
    return [
        _encoded(tenant_id, cluster_ids[index], index, uploads[minute])
        for minute in range(per_cluster)
        for index, uploads in enumerate(per)
    ]


def snapshot_stream(
    *,
    nodes_path: Path,
    pods_path: Path,
    tenant_id: uuid.UUID,
    cluster_ids: list[uuid.UUID],
    per_cluster: int,
    pod_count: int,
    seed: int,
    traces: UsageTraces,
) -> list[EncodedMessage]:
    """`per_cluster` snapshots of every cluster, interleaved minute by minute."""
    figures = _figures(traces, seed, len(cluster_ids), per_cluster)
    firsts = _firsts(nodes_path, pods_path, cluster_ids, pod_count, seed, figures=figures)
    messages = []
    for minute in range(per_cluster):
        for index, first in enumerate(firsts):
            cluster_id = cluster_ids[index]
            snapshot_id = uuid.uuid5(cluster_id, f"{seed}/{minute}")
            snapshot = first if minute == 0 else _later(first, minute, snapshot_id, figures[index])
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


def is_delta(message: EncodedMessage) -> bool:
    """Whether the message carries a delta (by its payload-kind header)."""
    return (PAYLOAD_KIND_HEADER, DELTA_PAYLOAD) in message.headers


def message_id(message: EncodedMessage) -> uuid.UUID:
    """The upload's id, as the message-id header carries it."""
    return uuid.UUID(dict(message.headers)["message-id"].decode())


def split_setup(
    deltas: bool, messages: list[EncodedMessage]
) -> tuple[list[EncodedMessage], list[EncodedMessage]]:
    """(set-up, measured): of a delta stream, its opening full snapshots are set-up."""
    if not deltas:
        return [], messages
    return [m for m in messages if not is_delta(m)], [m for m in messages if is_delta(m)]


def wire_bytes(message: EncodedMessage) -> int:
    """The gzip body the agent uploads for this message's payload."""
    if is_delta(message):
        return len(encode_snapshot(DeltaMessage.model_validate_json(message.value).delta))
    return len(encode_snapshot(SnapshotMessage.model_validate_json(message.value).snapshot))
