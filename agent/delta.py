"""What to upload next: a full snapshot or a delta on top of the last upload (pure).

The watchers fold every watch event into the inventory; a snapshot built from it is the state
now. The tracker keeps the objects of the last state it handed to the uplink and its sequence
number, so the next upload is only what the watch events changed since: objects whose model
differs (added or modified, resolved owner chains included) and objects gone (deleted). It
hands out a full snapshot instead at the start, when asked to (a relist after 410 Gone, the
server's resync request) and once `full_every` has passed since the last full one. A delta
carries its container and GPU samples as one `ordinal_usage` block by default (containers named
by their place in the uploaded state's container order, figures on the histograms' grid;
`agent.ordinal_usage`), samples it cannot place travelling as rows beside it; when asked, as
one `compact_usage` block (integer columns over tables of names, times and devices;
`agent.compact_usage`) or as the row form `container_series` and `gpu_series` (each container
or device named once, its samples as rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel

from agent.compact_usage import compact_usage
from agent.ordinal_usage import ordinal_usage
from protocol.compact_usage import CompactUsage
from protocol.delta import (
    MAX_SERIES_SAMPLES,
    ClusterDelta,
    ContainerSeries,
    DeletedObject,
    GpuSampleRow,
    GpuSeries,
    ObjectKind,
    SampleRow,
)
from protocol.ordinal_usage import OrdinalUsage
from protocol.snapshot import (
    ClusterSnapshot,
    ContainerUsage,
    GpuUsage,
    HorizontalPodAutoscaler,
    Node,
    Pod,
    PodDisruptionBudget,
    Workload,
)

ObjectName = tuple[str, str, str]
"""(kind, namespace, name), as the stored inventory names an object."""
Listed = Node | Pod | Workload | PodDisruptionBudget | HorizontalPodAutoscaler


def listed_objects(snapshot: ClusterSnapshot) -> dict[ObjectName, Listed]:
    """Every object of a snapshot by its name."""
    objects: dict[ObjectName, Listed] = {}
    for node in snapshot.nodes:
        objects[(ObjectKind.NODE.value, "", node.name)] = node
    for pod in snapshot.pods:
        objects[(ObjectKind.POD.value, pod.namespace, pod.name)] = pod
    for workload in snapshot.workloads:
        objects[(workload.kind.value, workload.namespace, workload.name)] = workload
    for pdb in snapshot.pdbs:
        objects[(ObjectKind.POD_DISRUPTION_BUDGET.value, pdb.namespace, pdb.name)] = pdb
    for hpa in snapshot.hpas:
        objects[(ObjectKind.HORIZONTAL_POD_AUTOSCALER.value, hpa.namespace, hpa.name)] = hpa
    return objects


def container_series(samples: Sequence[ContainerUsage]) -> list[ContainerSeries]:
    """The samples grouped by container (and sampling window), in order of first appearance."""
    rows: dict[tuple[str, str, str, int], list[SampleRow]] = {}
    for s in samples:
        rows.setdefault((s.namespace, s.pod, s.container, s.window_seconds), []).append(
            (s.timestamp.timestamp(), s.cpu_cores, s.memory_bytes, s.cpu_throttled_fraction)
        )
    series: list[ContainerSeries] = []
    for (namespace, pod, container, window), found in rows.items():
        series.extend(
            ContainerSeries(
                namespace=namespace,
                pod=pod,
                container=container,
                window_seconds=window,
                samples=found[start : start + MAX_SERIES_SAMPLES],
            )
            for start in range(0, len(found), MAX_SERIES_SAMPLES)
        )
    return series


def gpu_series(samples: Sequence[GpuUsage]) -> tuple[list[GpuSeries], list[GpuUsage]]:
    """Samples of devices a container uses grouped by device and container (in order of first
    appearance), and the others (devices nobody was using) as they were."""
    rows: dict[tuple[str, int, str | None, str | None, str, str, str], list[GpuSampleRow]] = {}
    unattributed: list[GpuUsage] = []
    for s in samples:
        if s.namespace is None or s.pod is None or s.container is None:
            unattributed.append(s)
            continue
        device = (s.node, s.gpu_index, s.gpu_uuid, s.mig_profile, s.namespace, s.pod, s.container)
        rows.setdefault(device, []).append(
            (s.timestamp.timestamp(), s.utilization, s.memory_used_bytes, s.memory_total_bytes)
        )
    series: list[GpuSeries] = []
    for (node, index, gpu_uuid, mig, namespace, pod, container), found in rows.items():
        series.extend(
            GpuSeries(
                node=node,
                gpu_index=index,
                gpu_uuid=gpu_uuid,
                mig_profile=mig,
                namespace=namespace,
                pod=pod,
                container=container,
                samples=found[start : start + MAX_SERIES_SAMPLES],
            )
            for start in range(0, len(found), MAX_SERIES_SAMPLES)
        )
    return series, unattributed


def delta_between(
    before: Mapping[ObjectName, Listed],
    after: ClusterSnapshot,
    *,
    delta_id: UUID,
    base_sequence: int,
    compact: bool = True,
    ordinal: bool = True,
) -> ClusterDelta:
    """The delta turning the state `before` into `after` (whose usage and notes it carries,
    container and GPU samples as an ordinal block when `compact` and `ordinal`, as a compact
    block when only `compact`, or as series when `compact` is false)."""
    now = listed_objects(after)
    block: CompactUsage | None = None
    placed: OrdinalUsage | None = None
    series: list[ContainerSeries] = []
    by_device: list[GpuSeries] = []
    if compact and ordinal:
        split = ordinal_usage(after.usage.containers, after.usage.gpus, after.pods)
        placed, unattributed = split.block, split.unattributed
        series = container_series(split.containers)
        by_device, _ = gpu_series(split.gpus)
    elif compact:
        block, unattributed = compact_usage(after.usage.containers, after.usage.gpus)
    else:
        by_device, unattributed = gpu_series(after.usage.gpus)
        series = container_series(after.usage.containers)
    changed = [model for name, model in now.items() if before.get(name) != model]
    deleted = [_deleted(name, model) for name, model in before.items() if name not in now]
    return ClusterDelta(
        delta_id=delta_id,
        cluster=after.cluster,
        taken_at=after.taken_at,
        agent_version=after.agent_version,
        base_sequence=base_sequence,
        sequence=base_sequence + 1,
        nodes=[m for m in changed if isinstance(m, Node)],
        pods=[m for m in changed if isinstance(m, Pod)],
        workloads=[m for m in changed if isinstance(m, Workload)],
        pdbs=[m for m in changed if isinstance(m, PodDisruptionBudget)],
        hpas=[m for m in changed if isinstance(m, HorizontalPodAutoscaler)],
        deleted=deleted,
        usage=after.usage.model_copy(update={"containers": [], "gpus": unattributed}),
        container_series=series,
        gpu_series=by_device,
        compact_usage=block,
        ordinal_usage=placed,
        notes=after.notes,
        keda=after.keda,
    )


def _deleted(name: ObjectName, model: BaseModel) -> DeletedObject:
    kind, namespace, object_name = name
    return DeletedObject(
        kind=ObjectKind(kind),
        namespace=namespace,
        name=object_name,
        uid=str(getattr(model, "uid", "")),
        resource_version=str(getattr(model, "resource_version", "")),
    )


@dataclass
class DeltaTracker:
    """The state last handed to the uplink, and when the next upload must be a full one."""

    full_every: timedelta
    sent: dict[ObjectName, Listed] | None = None
    """Objects of the last upload; None until the first full snapshot."""
    sequence: int = 0
    full_at: datetime | None = None
    """When the last full snapshot was taken."""
    resync_wanted: bool = True
    compact: bool = True
    """Deltas carry their samples as a block (else as series rows)."""
    ordinal: bool = True
    """The block is an ordinal one (else a compact one with tables of names)."""

    def request_resync(self) -> None:
        """Make the next upload a full snapshot (a relist, or the server asked for one)."""
        self.resync_wanted = True

    def next_upload(
        self, snapshot: ClusterSnapshot, *, delta_id: UUID
    ) -> ClusterSnapshot | ClusterDelta:
        """The upload for the state `snapshot`: itself with a new sequence number, or a delta.

        A full snapshot's sequence is at least its time in milliseconds, so one taken after
        an agent restart is numbered past every state the agent sent before.
        """
        due = self.full_at is None or snapshot.taken_at - self.full_at >= self.full_every
        if self.sent is None or self.resync_wanted or due:
            stamp = int(snapshot.taken_at.timestamp() * 1000)
            self.sequence = max(self.sequence + 1, stamp)
            self.sent = listed_objects(snapshot)
            self.full_at = snapshot.taken_at
            self.resync_wanted = False
            return snapshot.model_copy(update={"sequence": self.sequence})
        delta = delta_between(
            self.sent,
            snapshot,
            delta_id=delta_id,
            base_sequence=self.sequence,
            compact=self.compact,
            ordinal=self.ordinal,
        )
        self.sent = listed_objects(snapshot)
        self.sequence = delta.sequence
        return delta
