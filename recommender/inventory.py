"""An index over one snapshot: nodes, pods by node and by workload, PDBs by pod.

Consolidation, spot placement, spot evacuation and rightsizing all ask the same questions of a
snapshot ("which pods run here", "whose pod is this", "which PDB covers it"); this answers them
once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.changes import WorkloadRef
from protocol.recommendation import ObjectVersion, RecommendationKind
from protocol.snapshot import (
    ClusterSnapshot,
    Node,
    Pod,
    PodDisruptionBudget,
    PodPhase,
    Workload,
    WorkloadKind,
)
from recommender.usage.key import pod_owner

WorkloadId = tuple[str, str, str]
"""(kind, namespace, name)."""
_LIVE_PHASES = frozenset({PodPhase.PENDING, PodPhase.RUNNING, PodPhase.UNKNOWN})


def selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether equality-based `matchLabels` select these labels (empty selects everything)."""
    return all(labels.get(key) == value for key, value in selector.items())


def workload_id(workload: Workload) -> WorkloadId:
    """The index key of a workload."""
    return (workload.kind.value, workload.namespace, workload.name)


def workload_ref(workload: Workload) -> WorkloadRef:
    """The change-set reference of a workload."""
    return WorkloadRef(kind=workload.kind, namespace=workload.namespace, name=workload.name)


def workload_version(workload: Workload) -> ObjectVersion:
    """The object version a recommendation about this workload was computed from."""
    return ObjectVersion(
        kind=workload.kind.value,
        namespace=workload.namespace,
        name=workload.name,
        resource_version=workload.resource_version,
    )


def recommendation_id(
    snapshot: ClusterSnapshot, kind: RecommendationKind, subject: str
) -> uuid.UUID:
    """A deterministic id: the same snapshot and subject always give the same recommendation."""
    name = f"{snapshot.cluster.cluster_id}/{snapshot.snapshot_id}/{kind.value}/{subject}"
    return uuid.uuid5(uuid.NAMESPACE_URL, name)


@dataclass(frozen=True, slots=True)
class Inventory:
    """Lookups over one snapshot."""

    snapshot: ClusterSnapshot
    nodes: Mapping[str, Node]
    workloads: Mapping[WorkloadId, Workload]
    pods_by_node: Mapping[str, Sequence[Pod]]
    pods_by_workload: Mapping[WorkloadId, Sequence[Pod]]

    @classmethod
    def build(cls, snapshot: ClusterSnapshot) -> Inventory:
        """Index a snapshot (pods that finished are left out)."""
        by_node: dict[str, list[Pod]] = {}
        by_workload: dict[WorkloadId, list[Pod]] = {}
        for pod in snapshot.pods:
            if pod.phase not in _LIVE_PHASES:
                continue
            if pod.node_name is not None:
                by_node.setdefault(pod.node_name, []).append(pod)
            kind, name = pod_owner(pod)
            by_workload.setdefault((kind, pod.namespace, name), []).append(pod)
        return cls(
            snapshot=snapshot,
            nodes={node.name: node for node in snapshot.nodes},
            workloads={workload_id(w): w for w in snapshot.workloads},
            pods_by_node=by_node,
            pods_by_workload=by_workload,
        )

    def pods_on(self, node: str) -> Sequence[Pod]:
        """Live pods bound to a node."""
        return self.pods_by_node.get(node, ())

    def pods_of(self, workload: Workload) -> Sequence[Pod]:
        """Live pods of a workload."""
        return self.pods_by_workload.get(workload_id(workload), ())

    def workload_of(self, pod: Pod) -> Workload | None:
        """The workload that owns a pod, if the snapshot has it."""
        kind, name = pod_owner(pod)
        return self.workloads.get((kind, pod.namespace, name))

    def pdbs_for_labels(
        self, namespace: str, labels: Mapping[str, str]
    ) -> list[PodDisruptionBudget]:
        """PDBs of a namespace whose selector selects these labels."""
        return [
            pdb
            for pdb in self.snapshot.pdbs
            if pdb.namespace == namespace and selector_matches(pdb.selector, labels)
        ]

    def pdbs_for_workload(self, workload: Workload) -> list[PodDisruptionBudget]:
        """PDBs selecting the workload's pod template."""
        labels = workload.template_labels or workload.selector
        return self.pdbs_for_labels(workload.namespace, labels)

    def is_daemon(self, pod: Pod) -> bool:
        """Whether a DaemonSet owns the pod (it never moves off its node)."""
        kind, _ = pod_owner(pod)
        return kind == WorkloadKind.DAEMON_SET.value
