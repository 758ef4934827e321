"""What object each action writes to, and the planned change to it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never

from executor.planning.merge_patch import JsonObject
from protocol.changes import (
    Action,
    ApplyHpa,
    ApplyPdb,
    ApplyScaledObject,
    Cordon,
    CreateConfigMap,
    Drain,
    LabelNode,
    PatchClusterPolicy,
    PatchConfigMap,
    PatchResources,
    PatchScheduling,
    Scale,
    ScheduleHpaMinReplicas,
    TaintNode,
    Uncordon,
    WaitForNodeLabel,
)

NODE = "Node"
CONFIG_MAP = "ConfigMap"
POD_DISRUPTION_BUDGET = "PodDisruptionBudget"
HORIZONTAL_POD_AUTOSCALER = "HorizontalPodAutoscaler"
SCALED_OBJECT = "ScaledObject"
CLUSTER_POLICY = "ClusterPolicy"


@dataclass(frozen=True)
class ObjectRef:
    """A Kubernetes object by kind, namespace (None for cluster-scoped kinds) and name."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        """`Kind/namespace/name`, or `Kind/name` for cluster-scoped objects."""
        path = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind}/{path}"


def target_of(action: Action) -> ObjectRef:
    """The object an action writes to (the node, for a drain or a wait on a node label)."""
    match action:
        case PatchResources() | PatchScheduling() | Scale():
            target = action.target
            ref = ObjectRef(target.kind.value, target.name, target.namespace)
        case ApplyPdb():
            ref = ObjectRef(POD_DISRUPTION_BUDGET, action.name, action.namespace)
        case PatchConfigMap() | CreateConfigMap():
            ref = ObjectRef(CONFIG_MAP, action.name, action.namespace)
        case PatchClusterPolicy():
            ref = ObjectRef(CLUSTER_POLICY, action.name)
        case ApplyHpa():
            ref = ObjectRef(HORIZONTAL_POD_AUTOSCALER, action.name, action.target.namespace)
        case ScheduleHpaMinReplicas():
            ref = ObjectRef(HORIZONTAL_POD_AUTOSCALER, action.name, action.namespace)
        case ApplyScaledObject():
            ref = ObjectRef(SCALED_OBJECT, action.name, action.target.namespace)
        case Cordon() | Uncordon() | Drain() | LabelNode() | TaintNode() | WaitForNodeLabel():
            ref = ObjectRef(NODE, action.node)
        case _:  # pragma: no cover
            assert_never(action)
    return ref


class PatchStyle(StrEnum):
    """How the API server merges a patch."""

    MERGE = "merge"
    """RFC 7386 JSON merge patch: maps merge, lists are replaced whole."""
    STRATEGIC = "strategic"
    """Kubernetes strategic merge patch: container lists merge by name."""


@dataclass(frozen=True)
class PlannedChange:
    """The write that carries out one action, and the write that undoes it.

    Either `patch` is set (update an existing object) or `body` is (create it; the undo then
    deletes it).
    """

    ref: ObjectRef
    style: PatchStyle
    patch: JsonObject | None = None
    undo: JsonObject | None = None
    body: JsonObject | None = None

    def forward_patch(self) -> JsonObject:
        """The patch of an update (TypeError for a create)."""
        if self.patch is None:
            raise TypeError(f"the change to {self.ref} creates the object; it has no patch")
        return self.patch

    def undo_patch(self) -> JsonObject:
        """The patch that undoes an update (TypeError for a create)."""
        if self.undo is None:
            raise TypeError(f"the change to {self.ref} creates the object; undo deletes it")
        return self.undo

    @property
    def creates(self) -> bool:
        """True when the change creates the object."""
        return self.body is not None

    def rollback_record(self) -> dict[str, Any]:
        """The prior state needed to undo the change, as reported to the SaaS."""
        record: dict[str, Any] = {
            "kind": self.ref.kind,
            "namespace": self.ref.namespace,
            "name": self.ref.name,
        }
        if self.creates:
            record["delete"] = True
        else:
            record["patch_type"] = self.style.value
            record["patch"] = self.undo
        return record
