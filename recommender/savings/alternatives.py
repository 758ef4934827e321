"""Group recommendations that touch the same workload or node, and count each group once.

Two recommendations about one workload (share its GPU, or move it to spot) are alternatives:
their savings were each estimated on today's cluster, so adding them up claims money twice. A
consolidation that drains a node is grouped with every recommendation about a workload running
there. Groups are the connected components of "touches the same workload or node". What a group
counts, once, is its best option: an alternative alone, or the sequence of request cuts and
drains by its combined effect (`recommender.savings.sequences`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from protocol.changes import WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind
from protocol.snapshot import ClusterSnapshot
from recommender.savings.sequences import SavingOption, counted_option, expected_saving


def workload_key(ref: WorkloadRef) -> str:
    """`workload:<namespace>/<Kind>/<name>`."""
    return f"workload:{ref.namespace}/{ref.kind.value}/{ref.name}"


def node_key(node: str) -> str:
    """`node:<name>`."""
    return f"node:{node}"


def touched(
    recommendation: Recommendation, workloads_on_node: Mapping[str, Iterable[str]] | None = None
) -> set[str]:
    """Workloads and nodes the recommendation changes (a drain also touches what runs there)."""
    keys: set[str] = set()
    if recommendation.workload is not None:
        keys.add(workload_key(recommendation.workload))
    if recommendation.node is not None:
        keys.add(node_key(recommendation.node))
    for action in recommendation.change_set.actions:
        target = getattr(action, "target", None)
        if isinstance(target, WorkloadRef):
            keys.add(workload_key(target))
        node = getattr(action, "node", None)
        if isinstance(node, str):
            keys.add(node_key(node))
    if recommendation.kind is RecommendationKind.CONSOLIDATION and workloads_on_node:
        nodes = [key.removeprefix("node:") for key in keys if key.startswith("node:")]
        for name in nodes:
            keys.update(workloads_on_node.get(name, ()))
    return keys


def workloads_by_node(snapshot: ClusterSnapshot) -> dict[str, set[str]]:
    """Node name -> keys of the workloads with a pod bound there."""
    found: dict[str, set[str]] = {}
    for pod in snapshot.pods:
        owner = pod.controller
        if pod.node_name is None or owner is None:
            continue
        key = f"workload:{pod.namespace}/{owner.kind}/{owner.name}"
        found.setdefault(pod.node_name, set()).add(key)
    return found


def saving_groups(
    recommendations: Sequence[Recommendation],
    workloads_on_node: Mapping[str, Iterable[str]] | None = None,
) -> dict[UUID, str]:
    """Each recommendation's group: the smallest key of its connected component."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a: str, b: str) -> None:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            # The smaller key becomes the root, so a group's name does not depend on order.
            low, high = sorted((root_a, root_b))
            parent[high] = low

    own: dict[UUID, str] = {}
    for rec in recommendations:
        keys = sorted(touched(rec, workloads_on_node)) or [
            f"recommendation:{rec.recommendation_id}"
        ]
        own[rec.recommendation_id] = keys[0]
        for key in keys[1:]:
            union(keys[0], key)
    return {rid: find(key) for rid, key in own.items()}


@dataclass(frozen=True, slots=True)
class SavingGroup:
    """Recommendations on one set of workloads and nodes, best first, and what the group counts."""

    key: str
    alternatives: tuple[Recommendation, ...]

    @property
    def best(self) -> Recommendation:
        """The recommendation with the highest expected saving."""
        return self.alternatives[0]

    @property
    def counted(self) -> SavingOption | None:
        """The option the headline counts: the sequence of drains or one alternative alone."""
        return counted_option(self.alternatives)

    @property
    def counted_usd(self) -> float:
        """What the group adds to the headline: the counted option's combined saving."""
        counted = self.counted
        return 0.0 if counted is None else counted.combined_usd


def _rank(rec: Recommendation) -> tuple[float, float, str]:
    return (-expected_saving(rec), -rec.monthly_saving_usd, str(rec.recommendation_id))


def grouped(
    recommendations: Sequence[Recommendation],
    workloads_on_node: Mapping[str, Iterable[str]] | None = None,
) -> list[SavingGroup]:
    """Groups of alternatives, each ranked by expected saving, best groups first."""
    keys = saving_groups(recommendations, workloads_on_node)
    members: dict[str, list[Recommendation]] = {}
    for rec in recommendations:
        members.setdefault(keys[rec.recommendation_id], []).append(rec)
    groups = [SavingGroup(key, tuple(sorted(recs, key=_rank))) for key, recs in members.items()]
    return sorted(groups, key=lambda g: (_rank(g.best), g.key))


def headline_saving(
    recommendations: Sequence[Recommendation],
    workloads_on_node: Mapping[str, Iterable[str]] | None = None,
) -> float:
    """Monthly saving counted once per group: its best alternative or its sequence's effect."""
    return sum(group.counted_usd for group in grouped(recommendations, workloads_on_node))
