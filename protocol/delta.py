"""The cluster delta (ingest protocol v2): what changed in a cluster since the agent's last upload.

A v2 agent sends a full `ClusterSnapshot` carrying a `sequence` at start, after a relist, when
the server asks for one and every few hours; in between, once per interval, a `ClusterDelta`:
the objects added or modified since the previous upload (their whole current state, with
resourceVersions), the objects deleted, and the usage samples of the interval. Each delta names
the sequence number of the state it applies on (`base_sequence`) and of the state it makes
(`sequence`, the next number). A receiver holding another state than `base_sequence` has missed
or reordered something and asks the agent for a full snapshot (a resync) instead of guessing.

Container usage samples travel as `container_series`: one entry per container naming its
namespace, pod and container once, with its samples as rows `[epoch seconds, CPU cores, memory
bytes, CPU throttled fraction or null]`. A receiver reads them as arrays, without an object per
sample; the per-sample `usage.containers` of protocol v1 is still accepted beside them. DCGM
samples of a device a container uses travel likewise as `gpu_series`. A v2 agent sends both
instead as one `compact_usage` block (`protocol.compact_usage`: columns of integers over tables
of names, times and devices sent once per upload); the rows stay accepted beside it. A v2 agent
now sends them as an `ordinal_usage` block (`protocol.ordinal_usage`: no names at all, containers
by their place in an order both ends derive from the state the delta makes, figures on the grid
the stored histograms keep); the compact block stays accepted, though not beside it.

Objects are identified as in the stored inventory: kind, namespace ("" for nodes) and name.
An object appears at most once per delta, in the upserts or among the deletions: the agent
folds an interval's watch events into each object's final state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from protocol.base import (
    Fraction,
    Name,
    Namespace,
    NonNegativeInt,
    ResourceVersion,
    SequenceNumber,
    ShortText,
    WireModel,
)
from protocol.compact_usage import CompactUsage
from protocol.keda import KedaState
from protocol.ordinal_usage import OrdinalUsage
from protocol.snapshot import (
    MAX_NODES,
    MAX_PODS,
    MAX_SAMPLES,
    MAX_WORKLOADS,
    ClusterInfo,
    HorizontalPodAutoscaler,
    Node,
    Pod,
    PodDisruptionBudget,
    Usage,
    Workload,
)

MAX_DELETED = MAX_PODS + MAX_NODES + MAX_WORKLOADS
MAX_SERIES = MAX_SAMPLES
MAX_SERIES_SAMPLES = 1440
"""Samples of one container in one delta: a day of one a minute."""

EpochSeconds = Annotated[float, Field(ge=0.0, le=253_402_300_799.0)]
"""Seconds since the Unix epoch, before the year 10000 (what an aware datetime can say)."""
SampleRow = tuple[
    EpochSeconds,
    Annotated[float, Field(ge=0.0, le=4096.0)],
    NonNegativeInt,
    Fraction | None,
]
"""One sample: when (epoch seconds), CPU cores, memory bytes, CPU throttled fraction (or null)."""
GpuSampleRow = tuple[EpochSeconds, Fraction, NonNegativeInt, NonNegativeInt | None]
"""One DCGM sample: when (epoch seconds), duty cycle, memory used and total (or null), bytes."""


class ObjectKind(StrEnum):
    """The kinds of inventory object a delta can delete (workloads by their controller kind)."""

    NODE = "Node"
    POD = "Pod"
    DEPLOYMENT = "Deployment"
    STATEFUL_SET = "StatefulSet"
    DAEMON_SET = "DaemonSet"
    JOB = "Job"
    POD_DISRUPTION_BUDGET = "PodDisruptionBudget"
    HORIZONTAL_POD_AUTOSCALER = "HorizontalPodAutoscaler"


class DeletedObject(WireModel):
    """An object the cluster no longer has, as its last watch event named it."""

    kind: ObjectKind
    namespace: Annotated[str, Field(max_length=63)] = ""
    """Empty for cluster-scoped objects (nodes)."""
    name: Name
    uid: Annotated[str, Field(max_length=64)] = ""
    resource_version: ResourceVersion = ""


class ContainerSeries(WireModel):
    """The samples of one container of one pod, oldest first, as rows (see `SampleRow`)."""

    namespace: Namespace
    pod: Name
    container: Name
    window_seconds: Annotated[int, Field(gt=0, le=86_400)] = 60
    samples: Annotated[list[SampleRow], Field(min_length=1, max_length=MAX_SERIES_SAMPLES)]


class GpuSeries(WireModel):
    """The DCGM samples of one GPU (or MIG device) used by one container, oldest first, as rows
    (see `GpuSampleRow`)."""

    node: Name
    gpu_index: Annotated[int, Field(ge=0, le=64)]
    gpu_uuid: Annotated[str, Field(max_length=128)] | None = None
    mig_profile: Annotated[str, Field(max_length=32)] | None = None
    namespace: Namespace
    pod: Name
    container: Name
    samples: Annotated[list[GpuSampleRow], Field(min_length=1, max_length=MAX_SERIES_SAMPLES)]


class ClusterDelta(WireModel):
    """The changes of one interval, applying on the state numbered `base_sequence`."""

    schema_version: Literal["2"] = "2"
    delta_id: UUID
    cluster: ClusterInfo
    taken_at: AwareDatetime
    agent_version: Annotated[str, Field(max_length=64)] = ""
    base_sequence: SequenceNumber
    """The sequence number of the state (snapshot or delta) this delta applies on."""
    sequence: SequenceNumber
    """The sequence number of the state this delta makes: `base_sequence + 1`."""
    nodes: Annotated[list[Node], Field(max_length=MAX_NODES)] = Field(default_factory=list)
    pods: Annotated[list[Pod], Field(max_length=MAX_PODS)] = Field(default_factory=list)
    workloads: Annotated[list[Workload], Field(max_length=MAX_WORKLOADS)] = Field(
        default_factory=list
    )
    pdbs: Annotated[list[PodDisruptionBudget], Field(max_length=MAX_WORKLOADS)] = Field(
        default_factory=list
    )
    hpas: Annotated[list[HorizontalPodAutoscaler], Field(max_length=MAX_WORKLOADS)] = Field(
        default_factory=list
    )
    deleted: Annotated[list[DeletedObject], Field(max_length=MAX_DELETED)] = Field(
        default_factory=list
    )
    usage: Usage = Field(default_factory=Usage)
    container_series: Annotated[list[ContainerSeries], Field(max_length=MAX_SERIES)] = Field(
        default_factory=list
    )
    """Container usage samples grouped by container; `usage.containers` holds any others."""
    gpu_series: Annotated[list[GpuSeries], Field(max_length=MAX_SERIES)] = Field(
        default_factory=list
    )
    """DCGM samples of devices a container uses, grouped by device and container; `usage.gpus`
    holds any others (devices nobody was using)."""
    compact_usage: CompactUsage | None = None
    """Container and DCGM samples as integer columns over per-upload tables, beside (or instead
    of) `container_series` and `gpu_series`."""
    ordinal_usage: OrdinalUsage | None = None
    """Container and DCGM samples by place in the container order of the state this delta
    makes (never beside `compact_usage`); samples of containers outside that order travel as
    `container_series` and `gpu_series`."""
    notes: Annotated[list[ShortText], Field(max_length=32)] = Field(default_factory=list)
    keda: KedaState | None = None
    """KEDA's ScaledObjects as the agent last read them (sent whole with every delta: few, and
    a state without them would read as a cluster without KEDA)."""
