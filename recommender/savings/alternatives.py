"""Group recommendations that touch the same workload or node, and count each group once.

Two recommendations about one workload (share its GPU, or move it to spot) are alternatives:
their savings were each estimated on today's cluster, so adding them up claims money twice. A
consolidation that drains a node is grouped with every recommendation about a workload running
there. Groups are the connected components of "touches the same workload or node".

Some recommendations in a group are not alternatives but a sequence: the analysis rightsizes
first and plans consolidation on the cluster as the request cuts leave it, draining nodes one
after another, each on the cluster the drains before it leave. The sequence's combined effect is
the saving of each step priced on the cluster its predecessors leave: the nodes it removes.
A request cut (or fewer replicas) is not money until a node goes (`SavingBasis.NODE_REMOVAL`), so
it adds nothing of its own; the drains add their nodes' prices, all of them, since each was
priced after the others. Independent estimates are never added: the spot or GPU-sharing advice
in the group was priced on today's cluster and is an alternative to the whole sequence.

The headline counts each group once, at its best option (an alternative alone, or the sequence),
and "best" is the highest expected saving: the monthly saving times the confidence the
recommender has in it. A group with nothing that removes or replaces capacity adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from protocol.changes import WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind, SavingBasis
from protocol.snapshot import ClusterSnapshot


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


def expected_saving(recommendation: Recommendation) -> float:
    """Monthly saving times confidence: what the ranking and the headline go by."""
    return recommendation.monthly_saving_usd * recommendation.confidence


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


def counts_directly(recommendation: Recommendation) -> bool:
    """Whether the saving is realised by the change itself, not by a later node removal."""
    return recommendation.saving_basis is SavingBasis.DIRECT


def _rank(rec: Recommendation) -> tuple[float, float, str]:
    return (-expected_saving(rec), -rec.monthly_saving_usd, str(rec.recommendation_id))


@dataclass(frozen=True, slots=True)
class SavingOption:
    """What a group may count: one alternative alone, or a sequence of steps applied in order."""

    steps: tuple[Recommendation, ...]

    @property
    def combined_usd(self) -> float:
        """Each step's saving as priced on the cluster the steps before it leave, added up.

        A step realised only by a later node removal adds nothing of its own: the drain that
        removes the node, priced after it, carries that money.
        """
        return sum(r.monthly_saving_usd for r in self.steps if counts_directly(r))

    @property
    def expected_usd(self) -> float:
        """The steps' expected savings (saving x confidence), added the same way."""
        return sum(expected_saving(r) for r in self.steps if counts_directly(r))


def sequence_of(recommendations: Sequence[Recommendation]) -> SavingOption | None:
    """The group's drains, with the request cuts the consolidation plan assumed applied first.

    The analysis plans consolidation after rightsizing, on the cluster the request cuts leave,
    and releases nodes one after another; None when the group drains no node.
    """
    drains = [r for r in recommendations if r.kind is RecommendationKind.CONSOLIDATION]
    if not drains:
        return None
    first = sorted((r for r in recommendations if not counts_directly(r)), key=_rank)
    return SavingOption((*first, *sorted(drains, key=_rank)))


def _option_rank(option: SavingOption) -> tuple[float, float]:
    return (-option.expected_usd, -option.combined_usd)


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
    def options(self) -> tuple[SavingOption, ...]:
        """The sequence of drains (if any) and each other direct alternative alone, best first."""
        sequence = sequence_of(self.alternatives)
        alone = [
            SavingOption((r,))
            for r in self.alternatives
            if counts_directly(r) and r.kind is not RecommendationKind.CONSOLIDATION
        ]
        found = [sequence, *alone] if sequence is not None else alone
        # A tie goes to the sequence, which stands first (the store's query decides alike).
        return tuple(sorted(found, key=_option_rank))

    @property
    def counted(self) -> SavingOption | None:
        """The option the headline counts: the best one that saves anything directly."""
        return next((o for o in self.options if o.combined_usd > 0), None)

    @property
    def counted_usd(self) -> float:
        """What the group adds to the headline: the counted option's combined saving."""
        counted = self.counted
        return 0.0 if counted is None else counted.combined_usd


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
