"""Consolidation recommendations: cordon and drain a node whose pods fit elsewhere.

The saving is the node's whole price over a 730-hour month, realised when the cluster's
autoscaler removes the emptied node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from protocol.changes import ChangeSet, Cordon, Drain, Precondition
from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind, Risk
from protocol.snapshot import ClusterSnapshot, Node
from recommender.consolidation.plan import NodeRelease, find_releasable_nodes, rightsized_templates
from recommender.inventory import Inventory, recommendation_id
from recommender.pricing.cost import monthly_usd, price_node
from recommender.pricing.pricebook import PriceBook


@dataclass(frozen=True, slots=True)
class ConsolidationPolicy:
    """How much to consolidate at once."""

    max_nodes: int = 10
    drain_deadline_seconds: int = 1800
    min_monthly_saving_usd: float = 1.0


def _precondition(node: Node) -> Precondition:
    # The instance, not the resourceVersion: node status churns, the provider id does not.
    if node.provider_id:
        return Precondition(
            fields={"/spec/providerID": node.provider_id, "/spec/unschedulable": False}
        )
    return Precondition(fields={"/spec/unschedulable": False})


def _recommendation(
    snapshot: ClusterSnapshot,
    node: Node,
    release: NodeRelease,
    saving: float,
    *,
    estimated: bool,
    now: datetime,
    policy: ConsolidationPolicy,
) -> Recommendation:
    precondition = _precondition(node)
    return Recommendation(
        recommendation_id=recommendation_id(snapshot, RecommendationKind.CONSOLIDATION, node.name),
        cluster_id=snapshot.cluster.cluster_id,
        kind=RecommendationKind.CONSOLIDATION,
        node=node.name,
        title=f"Empty node {node.name} ({node.instance_type or 'unknown type'})",
        reason=(
            f"its {len(release.moves)} movable pod(s) fit on other nodes after rightsizing; "
            "the autoscaler then removes the empty node"
        ),
        evidence={
            "moves": dict(release.moves),
            "daemon_pods_staying": release.staying_daemons,
            "instance_type": node.instance_type,
            "spot": node.is_spot,
            "price_estimated": estimated,
        },
        risk=Risk.LOW if len(release.moves) <= 5 else Risk.MEDIUM,
        risk_note="" if len(release.moves) <= 5 else "many pods restart",
        monthly_saving_usd=round(saving, 2),
        confidence=0.7 if estimated else 1.0,
        change_set=ChangeSet(
            actions=[
                Cordon(node=node.name, precondition=precondition),
                Drain(
                    node=node.name,
                    deadline_seconds=policy.drain_deadline_seconds,
                    precondition=precondition,
                ),
            ],
            summary=f"cordon and drain {node.name}",
        ),
        computed_from=[
            ObjectVersion(kind="Node", name=node.name, resource_version=node.resource_version)
        ],
        created_at=now,
    )


def recommend_consolidation(
    snapshot: ClusterSnapshot,
    pricebook: PriceBook,
    now: datetime,
    rightsizing: Sequence[Recommendation] = (),
    policy: ConsolidationPolicy | None = None,
) -> list[Recommendation]:
    """Nodes to empty, given the rightsizing recommendations that would be applied first."""
    chosen = policy or ConsolidationPolicy()
    inventory = Inventory.build(snapshot)
    releases = find_releasable_nodes(inventory, rightsized_templates(rightsizing), chosen.max_nodes)
    found = []
    for release in releases:
        node = inventory.nodes[release.node]
        price = price_node(node, snapshot.cluster, pricebook)
        if price is None:
            continue
        saving = monthly_usd(price.hourly_usd)
        if saving < chosen.min_monthly_saving_usd:
            continue
        found.append(
            _recommendation(
                snapshot,
                node,
                release,
                saving,
                estimated=price.estimated,
                now=now,
                policy=chosen,
            )
        )
    return found
