"""The cluster snapshot: what the agent saw in one cluster at one moment.

A snapshot carries the inventory (nodes, pods, workloads, PDBs, HPAs) and the usage samples
gathered since the previous snapshot. Workers upsert the inventory and fold the samples into
per-container histograms; nothing downstream needs two snapshots to be compared.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, JsonValue

from protocol.base import (
    Annotations,
    Fraction,
    Labels,
    Name,
    Namespace,
    NonNegativeInt,
    ResourceVersion,
    SequenceNumber,
    ShortText,
    WireModel,
)
from protocol.dra import DraState
from protocol.gpu_operator import GpuOperatorState
from protocol.keda import KedaState
from protocol.resources import Resources

MAX_NODES = 10_000
MAX_PODS = 150_000
MAX_WORKLOADS = 50_000
MAX_SAMPLES = 500_000

LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
LABEL_CAPACITY = "node.kubernetes.io/capacity"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_GPU_PRODUCT = "nvidia.com/gpu.product"
LABEL_GPU_COUNT = "nvidia.com/gpu.count"
LABEL_GPU_MEMORY = "nvidia.com/gpu.memory"
LABEL_MIG_CONFIG = "nvidia.com/mig.config"
LABEL_MIG_CONFIG_STATE = "nvidia.com/mig.config.state"
LABEL_DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
ANNOTATION_SPOT_OPT = "slicewise.io/spot"
"""Workload annotation overriding spot readiness: `allow` or `deny`."""


class Provider(StrEnum):
    """The cloud (or none) a cluster runs in."""

    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"
    OTHER = "other"


class ClusterInfo(WireModel):
    """Identity of the reporting cluster."""

    cluster_id: UUID
    name: Name
    provider: Provider = Provider.OTHER
    region: Annotated[str, Field(max_length=64)] | None = None
    kubernetes_version: Annotated[str, Field(max_length=64)] | None = None


class Taint(WireModel):
    """A node taint."""

    key: Annotated[str, Field(min_length=1, max_length=317)]
    value: Annotated[str, Field(max_length=63)] = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class GpuInfo(WireModel):
    """GPUs of a node as GPU feature discovery and the MIG manager label them."""

    product: Annotated[str, Field(max_length=128)]
    count: NonNegativeInt
    memory_mib: NonNegativeInt | None = None
    mig_config: Annotated[str, Field(max_length=128)] | None = None
    mig_config_state: Annotated[str, Field(max_length=32)] | None = None
    sharing_config: Annotated[str, Field(max_length=128)] | None = None


class Node(WireModel):
    """A Kubernetes node."""

    name: Name
    uid: Annotated[str, Field(max_length=64)]
    resource_version: ResourceVersion = ""
    labels: Labels = Field(default_factory=dict)
    taints: Annotated[list[Taint], Field(max_length=64)] = Field(default_factory=list)
    capacity: Resources
    allocatable: Resources
    unschedulable: bool = False
    ready: bool = True
    provider_id: Annotated[str, Field(max_length=256)] | None = None
    gpu: GpuInfo | None = None
    created_at: AwareDatetime | None = None

    @property
    def instance_type(self) -> str | None:
        """Cloud instance type from the well-known label."""
        return self.labels.get(LABEL_INSTANCE_TYPE)

    @property
    def zone(self) -> str | None:
        """Availability zone from the well-known label."""
        return self.labels.get(LABEL_ZONE)

    @property
    def is_spot(self) -> bool:
        """Whether the node is spot/preemptible capacity."""
        return self.labels.get(LABEL_CAPACITY) == "spot"


class OwnerRef(WireModel):
    """One link of an owner chain (Pod -> ReplicaSet -> Deployment)."""

    kind: Annotated[str, Field(max_length=64)]
    name: Name
    uid: Annotated[str, Field(max_length=64)] = ""


class PodPhase(StrEnum):
    """Pod lifecycle phase."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


class QosClass(StrEnum):
    """Kubernetes QoS class."""

    GUARANTEED = "Guaranteed"
    BURSTABLE = "Burstable"
    BEST_EFFORT = "BestEffort"


class Container(WireModel):
    """A container of a pod or pod template."""

    name: Name
    image: Annotated[str, Field(max_length=512)] = ""
    requests: Resources = Field(default_factory=Resources)
    limits: Resources = Field(default_factory=Resources)
    restarts: NonNegativeInt = 0
    last_termination_reason: Annotated[str, Field(max_length=64)] | None = None
    last_oom_kill_at: AwareDatetime | None = None


class Toleration(WireModel):
    """A pod toleration."""

    key: Annotated[str, Field(max_length=317)] | None = None
    operator: Literal["Exists", "Equal"] = "Equal"
    value: Annotated[str, Field(max_length=63)] | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class PodSpecSummary(WireModel):
    """What a pod (or pod template) asks of the scheduler."""

    containers: Annotated[list[Container], Field(min_length=1, max_length=64)]
    node_selector: Labels = Field(default_factory=dict)
    tolerations: Annotated[list[Toleration], Field(max_length=64)] = Field(default_factory=list)
    affinity: dict[str, JsonValue] | None = None
    topology_spread_constraints: Annotated[list[dict[str, JsonValue]], Field(max_length=16)] = (
        Field(default_factory=list)
    )
    priority_class: Name | None = None
    termination_grace_seconds: NonNegativeInt = 30
    uses_local_storage: bool = False
    """True when a volume is emptyDir (not memory-backed), hostPath or a local PV."""


class Pod(WireModel):
    """A pod as last observed."""

    namespace: Namespace
    name: Name
    uid: Annotated[str, Field(max_length=64)]
    resource_version: ResourceVersion = ""
    labels: Labels = Field(default_factory=dict)
    node_name: Name | None = None
    phase: PodPhase = PodPhase.PENDING
    qos_class: QosClass = QosClass.BEST_EFFORT
    owners: Annotated[list[OwnerRef], Field(max_length=8)] = Field(default_factory=list)
    """Owner chain, nearest first: [ReplicaSet, Deployment] for a Deployment's pod."""
    spec: PodSpecSummary
    ready: bool = False
    started_at: AwareDatetime | None = None

    @property
    def controller(self) -> OwnerRef | None:
        """The top-most owner (the workload), if any."""
        return self.owners[-1] if self.owners else None


class WorkloadKind(StrEnum):
    """Workload controllers Slicewise reasons about."""

    DEPLOYMENT = "Deployment"
    STATEFUL_SET = "StatefulSet"
    DAEMON_SET = "DaemonSet"
    JOB = "Job"


class RolloutStrategy(WireModel):
    """Deployment/StatefulSet/DaemonSet update strategy."""

    type: Annotated[str, Field(max_length=32)] = "RollingUpdate"
    max_unavailable: int | Annotated[str, Field(max_length=8)] | None = None
    max_surge: int | Annotated[str, Field(max_length=8)] | None = None


class Workload(WireModel):
    """A workload controller with its pod template."""

    kind: WorkloadKind
    namespace: Namespace
    name: Name
    uid: Annotated[str, Field(max_length=64)]
    resource_version: ResourceVersion = ""
    generation: NonNegativeInt = 0
    """metadata.generation: moves only when the spec changes (status churn leaves it), so it is
    what a change pins; 0 when the agent did not report it."""
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    replicas: NonNegativeInt | None = None
    """Desired replicas (None for DaemonSets); for Jobs, parallelism."""
    ready_replicas: NonNegativeInt = 0
    strategy: RolloutStrategy = Field(default_factory=RolloutStrategy)
    selector: Labels = Field(default_factory=dict)
    template_labels: Labels = Field(default_factory=dict)
    template: PodSpecSummary
    min_ready_seconds: NonNegativeInt = 0


class PodDisruptionBudget(WireModel):
    """A PodDisruptionBudget with its live status."""

    namespace: Namespace
    name: Name
    uid: Annotated[str, Field(max_length=64)] = ""
    resource_version: ResourceVersion = ""
    selector: Labels = Field(default_factory=dict)
    min_available: int | Annotated[str, Field(max_length=8)] | None = None
    max_unavailable: int | Annotated[str, Field(max_length=8)] | None = None
    current_healthy: NonNegativeInt = 0
    desired_healthy: NonNegativeInt = 0
    disruptions_allowed: NonNegativeInt = 0
    expected_pods: NonNegativeInt = 0


class HpaMetric(WireModel):
    """One HPA metric target."""

    type: Annotated[str, Field(max_length=32)]
    name: Annotated[str, Field(max_length=128)]
    target_utilization: int | None = None
    target_value: Annotated[str, Field(max_length=32)] | None = None


class HorizontalPodAutoscaler(WireModel):
    """An HPA and its target."""

    namespace: Namespace
    name: Name
    target_kind: Annotated[str, Field(max_length=64)]
    target_name: Name
    min_replicas: NonNegativeInt = 1
    max_replicas: NonNegativeInt
    current_replicas: NonNegativeInt = 0
    desired_replicas: NonNegativeInt = 0
    metrics: Annotated[list[HpaMetric], Field(max_length=16)] = Field(default_factory=list)


class ContainerUsage(WireModel):
    """One usage sample of one container."""

    namespace: Namespace
    pod: Name
    container: Name
    timestamp: AwareDatetime
    window_seconds: Annotated[int, Field(gt=0, le=86_400)] = 60
    cpu_cores: Annotated[float, Field(ge=0.0, le=4096.0)]
    memory_bytes: NonNegativeInt
    cpu_throttled_fraction: Fraction | None = None


class NodeUsage(WireModel):
    """One usage sample of one node."""

    node: Name
    timestamp: AwareDatetime
    cpu_cores: Annotated[float, Field(ge=0.0, le=4096.0)]
    memory_bytes: NonNegativeInt


class GpuUsage(WireModel):
    """One DCGM sample of one GPU or MIG device, attributed to a pod where the exporter knows."""

    node: Name
    gpu_index: Annotated[int, Field(ge=0, le=64)]
    gpu_uuid: Annotated[str, Field(max_length=128)] | None = None
    mig_profile: Annotated[str, Field(max_length=32)] | None = None
    namespace: Namespace | None = None
    pod: Name | None = None
    container: Name | None = None
    timestamp: AwareDatetime
    utilization: Fraction
    """Duty cycle: share of time a kernel was running (DCGM_FI_DEV_GPU_UTIL / 100)."""
    memory_used_bytes: NonNegativeInt
    memory_total_bytes: NonNegativeInt | None = None


class Usage(WireModel):
    """Samples gathered since the previous snapshot."""

    containers: Annotated[list[ContainerUsage], Field(max_length=MAX_SAMPLES)] = Field(
        default_factory=list
    )
    nodes: Annotated[list[NodeUsage], Field(max_length=MAX_NODES * 10)] = Field(
        default_factory=list
    )
    gpus: Annotated[list[GpuUsage], Field(max_length=MAX_SAMPLES)] = Field(default_factory=list)


class ClusterSnapshot(WireModel):
    """Everything the agent reports about one cluster at `taken_at`."""

    schema_version: Literal["1"] = "1"
    snapshot_id: UUID
    cluster: ClusterInfo
    taken_at: AwareDatetime
    agent_version: Annotated[str, Field(max_length=64)] = ""
    sequence: SequenceNumber | None = None
    """The sequence number of the state this snapshot is (protocol v2 agents, which send deltas
    on top of it: `protocol.delta`); None from v1 agents, which send full snapshots only."""
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
    usage: Usage = Field(default_factory=Usage)
    gpu_operator: GpuOperatorState | None = None
    """The NVIDIA GPU Operator's ClusterPolicy as the agent read it; None when it has none."""
    dra: DraState | None = None
    """DeviceClasses when the cluster serves `resource.k8s.io/v1`; None when not (or not read)."""
    keda: KedaState | None = None
    """KEDA's ScaledObjects when the cluster serves the kind; None when not (or not read)."""
    notes: Annotated[list[ShortText], Field(max_length=32)] = Field(default_factory=list)
    """Degradations the agent wants seen (e.g. metrics.k8s.io not served)."""
