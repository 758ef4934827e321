"""Change sets: the exact Kubernetes changes a recommendation proposes.

A `ChangeSet` is an ordered list of actions from a closed allow-list. Every action names its
target and the preconditions it was computed from, so the executor can refuse to apply a change
to an object that has moved on since.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, JsonValue

from protocol.autoscaling import HpaSpec, ScaledObjectSpec, hpa_manifest, scaled_object_manifest
from protocol.base import Labels, Name, Namespace, NonNegativeInt, ShortText, WireModel
from protocol.min_replicas_schedule import MinReplicasSchedule
from protocol.resources import Resources
from protocol.snapshot import Taint, Toleration, WorkloadKind

MAX_ACTIONS = 256


class ActionType(StrEnum):
    """Every action type the executor may be allowed to perform."""

    PATCH_RESOURCES = "patch_resources"
    PATCH_SCHEDULING = "patch_scheduling"
    APPLY_PDB = "apply_pdb"
    CORDON = "cordon"
    UNCORDON = "uncordon"
    DRAIN = "drain"
    LABEL_NODE = "label_node"
    TAINT_NODE = "taint_node"
    SCALE = "scale"
    PATCH_CONFIG_MAP = "patch_config_map"
    APPLY_HPA = "apply_hpa"
    APPLY_SCALED_OBJECT = "apply_scaled_object"
    SCHEDULE_HPA_MIN_REPLICAS = "schedule_hpa_min_replicas"
    CREATE_CONFIG_MAP = "create_config_map"
    PATCH_CLUSTER_POLICY = "patch_cluster_policy"
    WAIT_FOR_NODE_LABEL = "wait_for_node_label"


class WorkloadRef(WireModel):
    """A workload addressed by kind, namespace and name."""

    kind: WorkloadKind
    namespace: Namespace
    name: Name


class Precondition(WireModel):
    """What the target looked like when the change was computed.

    `resource_version` pins the whole object; `fields` pins individual values by JSON pointer
    (RFC 6901) where a resourceVersion is too strict (status churn on nodes, for example).
    """

    resource_version: Annotated[str, Field(max_length=64)] | None = None
    fields: Annotated[
        dict[Annotated[str, Field(max_length=256)], JsonValue], Field(max_length=32)
    ] = Field(default_factory=dict)


class ContainerResources(WireModel):
    """New requests/limits for one container; None leaves a value unchanged."""

    container: Name
    requests: Resources = Field(default_factory=Resources)
    limits: Resources = Field(default_factory=Resources)
    remove_limits: Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=8)] = (
        Field(default_factory=list)
    )
    remove_requests: Annotated[list[Annotated[str, Field(max_length=128)]], Field(max_length=8)] = (
        Field(default_factory=list)
    )
    """Resource names to drop from requests (`nvidia.com/gpu` when moving to a MIG device)."""


class PatchResources(WireModel):
    """Set container requests/limits (and extended resources such as MIG devices) on a workload."""

    type: Literal[ActionType.PATCH_RESOURCES] = ActionType.PATCH_RESOURCES
    target: WorkloadRef
    containers: Annotated[list[ContainerResources], Field(min_length=1, max_length=64)]
    precondition: Precondition = Field(default_factory=Precondition)


class PatchScheduling(WireModel):
    """Set scheduling constraints of a workload's pod template (None leaves a field unchanged)."""

    type: Literal[ActionType.PATCH_SCHEDULING] = ActionType.PATCH_SCHEDULING
    target: WorkloadRef
    node_affinity: dict[str, JsonValue] | None = None
    tolerations: Annotated[list[Toleration], Field(max_length=64)] | None = None
    topology_spread_constraints: (
        Annotated[list[dict[str, JsonValue]], Field(max_length=16)] | None
    ) = None
    node_selector: Labels | None = None
    template_labels: Labels | None = None
    """Labels added to the pod template (others kept): a plan's spreads count only its pods."""
    precondition: Precondition = Field(default_factory=Precondition)


class ApplyPdb(WireModel):
    """Create a PodDisruptionBudget, or patch the existing one of that name."""

    type: Literal[ActionType.APPLY_PDB] = ActionType.APPLY_PDB
    namespace: Namespace
    name: Name
    selector: Labels
    min_available: int | Annotated[str, Field(max_length=8)] | None = None
    max_unavailable: int | Annotated[str, Field(max_length=8)] | None = None
    precondition: Precondition = Field(default_factory=Precondition)


class Cordon(WireModel):
    """Mark a node unschedulable."""

    type: Literal[ActionType.CORDON] = ActionType.CORDON
    node: Name
    precondition: Precondition = Field(default_factory=Precondition)


class Uncordon(WireModel):
    """Mark a node schedulable again."""

    type: Literal[ActionType.UNCORDON] = ActionType.UNCORDON
    node: Name
    precondition: Precondition = Field(default_factory=Precondition)


class Drain(WireModel):
    """Evict every evictable pod from a node through the Eviction API (PDBs respected)."""

    type: Literal[ActionType.DRAIN] = ActionType.DRAIN
    node: Name
    deadline_seconds: Annotated[int, Field(gt=0, le=86_400)] = 600
    grace_period_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    precondition: Precondition = Field(default_factory=Precondition)


class LabelNode(WireModel):
    """Set (or, with a None value, remove) node labels such as `nvidia.com/mig.config`."""

    type: Literal[ActionType.LABEL_NODE] = ActionType.LABEL_NODE
    node: Name
    labels: Annotated[
        dict[
            Annotated[str, Field(min_length=1, max_length=317)],
            Annotated[str, Field(max_length=63)] | None,
        ],
        Field(min_length=1, max_length=32),
    ]
    precondition: Precondition = Field(default_factory=Precondition)


class TaintNode(WireModel):
    """Set node taints (a GPU sharing pool's `slicewise.io/gpu-pool`), keeping the node's others.

    A live taint with the key and effect of one given here is replaced by it; every other live
    taint stays.
    """

    type: Literal[ActionType.TAINT_NODE] = ActionType.TAINT_NODE
    node: Name
    taints: Annotated[list[Taint], Field(min_length=1, max_length=8)]
    precondition: Precondition = Field(default_factory=Precondition)


class Scale(WireModel):
    """Set a workload's replica count."""

    type: Literal[ActionType.SCALE] = ActionType.SCALE
    target: WorkloadRef
    replicas: NonNegativeInt
    precondition: Precondition = Field(default_factory=Precondition)


class PatchConfigMap(WireModel):
    """Merge keys into a ConfigMap (the NVIDIA device plugin's sharing config, for example)."""

    type: Literal[ActionType.PATCH_CONFIG_MAP] = ActionType.PATCH_CONFIG_MAP
    namespace: Namespace
    name: Name
    data: Annotated[
        dict[Annotated[str, Field(max_length=253)], Annotated[str, Field(max_length=65_536)]],
        Field(min_length=1, max_length=16),
    ]
    precondition: Precondition = Field(default_factory=Precondition)


class ApplyHpa(WireModel):
    """Create an autoscaling/v2 HPA on a workload, or patch the existing one of that name."""

    type: Literal[ActionType.APPLY_HPA] = ActionType.APPLY_HPA
    name: Name
    target: WorkloadRef
    spec: HpaSpec
    precondition: Precondition = Field(default_factory=Precondition)

    def manifest(self) -> dict[str, object]:
        """The HPA this action creates (a patch sets its `spec`)."""
        t = self.target
        return hpa_manifest(t.namespace, self.name, t.kind.value, t.name, self.spec)


class ApplyScaledObject(WireModel):
    """Create a KEDA ScaledObject on a workload, or patch the existing one of that name."""

    type: Literal[ActionType.APPLY_SCALED_OBJECT] = ActionType.APPLY_SCALED_OBJECT
    name: Name
    target: WorkloadRef
    spec: ScaledObjectSpec
    precondition: Precondition = Field(default_factory=Precondition)

    def manifest(self) -> dict[str, object]:
        """The ScaledObject this action creates (a patch sets its `spec`)."""
        t = self.target
        return scaled_object_manifest(t.namespace, self.name, t.kind.value, t.name, self.spec)


class ScheduleHpaMinReplicas(WireModel):
    """Give an existing HPA a `minReplicas` schedule, which the executor then keeps in force.

    The schedule is stored on the HPA (`MIN_REPLICAS_SCHEDULE_ANNOTATION`) and `minReplicas` is
    set to its value now; the executor sets it again at every window boundary. Undoing removes
    the schedule and restores the `minReplicas` the HPA had before.
    """

    type: Literal[ActionType.SCHEDULE_HPA_MIN_REPLICAS] = ActionType.SCHEDULE_HPA_MIN_REPLICAS
    namespace: Namespace
    name: Name
    """The HPA's name."""
    schedule: MinReplicasSchedule
    precondition: Precondition = Field(default_factory=Precondition)


ConfigMapData = Annotated[
    dict[Annotated[str, Field(max_length=253)], Annotated[str, Field(max_length=65_536)]],
    Field(min_length=1, max_length=16),
]


class CreateConfigMap(WireModel):
    """Create a ConfigMap that does not exist yet (the device plugin's sharing configs)."""

    type: Literal[ActionType.CREATE_CONFIG_MAP] = ActionType.CREATE_CONFIG_MAP
    namespace: Namespace
    name: Name
    data: ConfigMapData
    precondition: Precondition = Field(default_factory=Precondition)


class PatchClusterPolicy(WireModel):
    """Point the GPU Operator's ClusterPolicy at a device-plugin config (None leaves it as is)."""

    type: Literal[ActionType.PATCH_CLUSTER_POLICY] = ActionType.PATCH_CLUSTER_POLICY
    name: Name
    device_plugin_config: Name | None = None
    """ConfigMap `spec.devicePlugin.config.name` names."""
    device_plugin_default: Annotated[str, Field(max_length=253)] | None = None
    """Key `spec.devicePlugin.config.default` names: the config of nodes without the label."""
    precondition: Precondition = Field(default_factory=Precondition)


class WaitForNodeLabel(WireModel):
    """Wait until a node label reaches a value (`nvidia.com/mig.config.state=success`).

    A value in `failure_values` ends the wait as a failure at once (the MIG manager reports
    `failed` when it cannot apply a layout).
    """

    type: Literal[ActionType.WAIT_FOR_NODE_LABEL] = ActionType.WAIT_FOR_NODE_LABEL
    node: Name
    label: Annotated[str, Field(min_length=1, max_length=317)]
    value: Annotated[str, Field(max_length=63)]
    failure_values: Annotated[list[Annotated[str, Field(max_length=63)]], Field(max_length=8)] = (
        Field(default_factory=list)
    )
    timeout_seconds: Annotated[int, Field(gt=0, le=7200)] = 900
    precondition: Precondition = Field(default_factory=Precondition)


Action = Annotated[
    PatchResources
    | PatchScheduling
    | ApplyPdb
    | Cordon
    | Uncordon
    | Drain
    | LabelNode
    | TaintNode
    | Scale
    | PatchConfigMap
    | ApplyHpa
    | ApplyScaledObject
    | ScheduleHpaMinReplicas
    | CreateConfigMap
    | PatchClusterPolicy
    | WaitForNodeLabel,
    Field(discriminator="type"),
]
"""One allow-listed change, discriminated by `type`."""


class ChangeSet(WireModel):
    """Ordered actions that together carry out one recommendation."""

    actions: Annotated[list[Action], Field(min_length=1, max_length=MAX_ACTIONS)]
    summary: ShortText = ""
