"""The periodic analysis of one cluster: the recommender's policies over its stored state.

A pure composition: given the cluster as last seen, its usage histograms, prices and the time,
return every recommendation, one per fingerprint. Rightsizing runs first because consolidation
reasons about the cluster as it would be after the rightsizing is applied.

GPU-sharing advice reads the GPU duty-cycle histories the ingest workers keep beside the
recommender's usage state (see `gpu_sharing`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from protocol.changes import WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind
from protocol.snapshot import ClusterSnapshot
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.recommend import recommend_autoscaling
from recommender.consolidation.recommend import recommend_consolidation
from recommender.gpu.mig_layouts import MigConfig
from recommender.pricing.cost import monthly_usd, price_node
from recommender.pricing.pricebook import PriceBook
from recommender.rightsizing.recommend import recommend_rightsizing
from recommender.spot.recommend import recommend_spot
from recommender.usage.key import ContainerKey
from recommender.usage.state import ContainerUsageState
from workers.fingerprint import fingerprint
from workers.gpu_sharing import recommend_gpu_sharing
from workers.ingest.gpu_duty import GpuDutyHistory

ANALYSED_KINDS = frozenset(
    {
        RecommendationKind.RIGHTSIZING,
        RecommendationKind.SPOT,
        RecommendationKind.CONSOLIDATION,
        RecommendationKind.GPU_SHARING,
        RecommendationKind.AUTOSCALING,
    }
)
"""The kinds a periodic analysis produces, and so replaces; spot evacuations are not among them."""


@dataclass(frozen=True)
class ClusterState:
    """Everything the analysis of one cluster reads."""

    snapshot: ClusterSnapshot
    """The cluster as its stored inventory describes it."""
    usage: Mapping[ContainerKey, ContainerUsageState]
    pricebook: PriceBook
    now: datetime
    gpu: Mapping[ContainerKey, GpuDutyHistory] = field(default_factory=dict)
    mig_config: MigConfig | None = None
    """The MIG layouts nodes may be labelled with; None leaves MIG out of the advice."""
    demand: Mapping[WorkloadRef, DemandSeries] = field(default_factory=dict)
    """CPU demand per workload (summed over its replicas); empty leaves autoscaling out."""
    gpu_demand: Mapping[WorkloadRef, DemandSeries] = field(default_factory=dict)
    """GPU-duty demand per workload (GPUs busy, summed over its replicas' devices)."""
    keda: bool | None = None
    """Whether the cluster runs KEDA (then advice may propose ScaledObjects); None detects it."""
    prometheus_address: str | None = None
    """The Prometheus KEDA queries for GPU utilisation; None: the recommender's default."""


@dataclass(frozen=True)
class ClusterCost:
    """What the cluster's nodes cost per month at the analysed moment."""

    monthly_usd: float
    priced_nodes: int
    """Nodes whose price is known (others are left out of the sum)."""


def cluster_cost(snapshot: ClusterSnapshot, pricebook: PriceBook) -> ClusterCost:
    """The monthly cost of every node that can be priced (spot nodes at the spot price)."""
    prices = [price_node(node, snapshot.cluster, pricebook) for node in snapshot.nodes]
    known = [price for price in prices if price is not None]
    return ClusterCost(round(sum(monthly_usd(p.hourly_usd) for p in known), 2), len(known))


def analyse_cluster(state: ClusterState) -> list[Recommendation]:
    """Every recommendation for the cluster, largest saving first, one per fingerprint."""
    rightsizing = recommend_rightsizing(
        state.snapshot, state.usage, state.pricebook, state.now, demand=state.demand
    )
    spot = recommend_spot(state.snapshot, state.pricebook, state.now)
    consolidation = recommend_consolidation(
        state.snapshot, state.pricebook, state.now, rightsizing=rightsizing
    )
    gpu_sharing = recommend_gpu_sharing(
        state.snapshot, state.gpu, state.pricebook, state.now, state.mig_config
    )
    autoscaling = recommend_autoscaling(
        state.snapshot,
        state.demand,
        state.pricebook,
        state.now,
        keda=state.keda,
        gpu_demand=state.gpu_demand,
        prometheus_address=state.prometheus_address,
    )
    return unique_by_fingerprint([*rightsizing, *spot, *consolidation, *gpu_sharing, *autoscaling])


def unique_by_fingerprint(recommendations: Sequence[Recommendation]) -> list[Recommendation]:
    """Keep the largest saving of recommendations sharing a fingerprint, largest first."""
    best: dict[str, Recommendation] = {}
    for recommendation in recommendations:
        key = fingerprint(recommendation)
        kept = best.get(key)
        if kept is None or recommendation.monthly_saving_usd > kept.monthly_saving_usd:
            best[key] = recommendation
    return sorted(best.values(), key=lambda r: (-r.monthly_saving_usd, fingerprint(r)))
