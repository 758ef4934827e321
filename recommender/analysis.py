"""The analysis of one cluster: the recommender's policies over its state, in one function.

A pure composition: given the cluster as last seen, its usage histograms, prices and the time,
`analyse_cluster` returns every recommendation (one per fingerprint) with its fingerprint and
saving group, and what the cluster costs now: everything a worker stores. Rightsizing runs first
because consolidation reasons about the cluster as it would be after the rightsizing is applied.
The analysis workers call it on the stored state; the benches call it on snapshots built from
traces, so both measure the same code.

GPU sharing reads each GPU container's duty-cycle history through `GpuDutySource` (the workers
keep those histories beside the usage state; a bench hands in measured profiles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from protocol.changes import WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind
from protocol.snapshot import ClusterSnapshot
from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.recommend import recommend_autoscaling
from recommender.consolidation.recommend import recommend_consolidation
from recommender.fingerprint import fingerprint
from recommender.gpu.mig_layouts import MigConfig
from recommender.gpu.pools.recommend import recommend_gpu_pools
from recommender.gpu.usage_profile import GpuUsageProfile
from recommender.pricing.cost import monthly_usd, price_node
from recommender.pricing.pricebook import PriceBook
from recommender.pricing.version import pricebook_version
from recommender.rightsizing.recommend import recommend_rightsizing
from recommender.savings.alternatives import saving_groups, workloads_by_node
from recommender.savings.fixed_prices import keep_unchanged
from recommender.spot.recommend import recommend_spot
from recommender.usage.key import ContainerKey
from recommender.usage.state import ContainerUsageState

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


class GpuDutySource(Protocol):
    """A GPU container's duty-cycle and memory history, as a usage profile once long enough."""

    def profile(self) -> GpuUsageProfile | None:
        """The profile shares are sized from; None before there is enough history."""
        ...


@dataclass(frozen=True, slots=True)
class MeasuredGpuUsage:
    """A GPU usage profile measured elsewhere (a trace), handed to the analysis as a source."""

    measured: GpuUsageProfile

    def profile(self) -> GpuUsageProfile | None:
        """The measured profile."""
        return self.measured


@dataclass(frozen=True)
class ClusterState:
    """Everything the analysis of one cluster reads."""

    snapshot: ClusterSnapshot
    """The cluster as its stored inventory describes it."""
    usage: Mapping[ContainerKey, ContainerUsageState]
    pricebook: PriceBook
    now: datetime
    gpu: Mapping[ContainerKey, GpuDutySource] = field(default_factory=dict)
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
    placement_seed: int = 0
    """Seed of the GPU placement engine's tie-breaks (the live analysis keeps 0)."""
    previous: Mapping[str, Recommendation] = field(default_factory=dict)
    """The open recommendations as last priced, by fingerprint: one whose inputs and price book
    are unchanged keeps its figures, so prices move only when what they depend on does."""


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


@dataclass(frozen=True)
class ClusterAnalysis:
    """What one analysis of a cluster found, as the workers store it."""

    recommendations: list[Recommendation]
    """Largest saving first, one per fingerprint."""
    fingerprints: Mapping[UUID, str]
    """Each recommendation's fingerprint, by recommendation id."""
    groups: Mapping[str, str]
    """Each recommendation's saving group (alternatives share one), by fingerprint."""
    cost: ClusterCost
    price_book_version: str
    """The price book every saving of this analysis was priced with."""


def analyse_cluster(state: ClusterState) -> ClusterAnalysis:
    """Every recommendation for the cluster with its fingerprint and group, and its cost.

    Prices are fixed per run: each recommendation carries the price book's version, and one
    whose inputs and price book match its predecessor in `state.previous` is that predecessor.
    """
    version = pricebook_version(state.pricebook)
    fresh = [r.model_copy(update={"price_book_version": version}) for r in recommend_all(state)]
    recommendations = keep_unchanged(fresh, state.previous, fingerprint)
    group_of = saving_groups(recommendations, workloads_by_node(state.snapshot))
    fingerprints = {r.recommendation_id: fingerprint(r) for r in recommendations}
    return ClusterAnalysis(
        recommendations=recommendations,
        fingerprints=fingerprints,
        groups={
            fingerprints[r.recommendation_id]: group_of[r.recommendation_id]
            for r in recommendations
        },
        cost=cluster_cost(state.snapshot, state.pricebook),
        price_book_version=version,
    )


def recommend_all(state: ClusterState) -> list[Recommendation]:
    """Every recommendation for the cluster, largest saving first, one per fingerprint."""
    rightsizing = recommend_rightsizing(
        state.snapshot, state.usage, state.pricebook, state.now, demand=state.demand
    )
    spot = recommend_spot(state.snapshot, state.pricebook, state.now)
    consolidation = recommend_consolidation(
        state.snapshot, state.pricebook, state.now, rightsizing=rightsizing
    )
    gpu_sharing = recommend_gpu_sharing(state)
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


def recommend_gpu_sharing(state: ClusterState) -> list[Recommendation]:
    """The cluster's GPU sharing plan as a recommendation, if it empties a GPU node."""
    profiles: dict[ContainerKey, GpuUsageProfile] = {}
    for key, source in state.gpu.items():
        profile = source.profile()
        if profile is not None:
            profiles[key] = profile
    return recommend_gpu_pools(
        state.snapshot,
        profiles,
        state.pricebook,
        state.now,
        state.mig_config,
        seed=state.placement_seed,
    )


def unique_by_fingerprint(recommendations: Sequence[Recommendation]) -> list[Recommendation]:
    """Keep the largest saving of recommendations sharing a fingerprint, largest first."""
    best: dict[str, Recommendation] = {}
    for recommendation in recommendations:
        key = fingerprint(recommendation)
        kept = best.get(key)
        if kept is None or recommendation.monthly_saving_usd > kept.monthly_saving_usd:
            best[key] = recommendation
    return sorted(best.values(), key=lambda r: (-r.monthly_saving_usd, fingerprint(r)))
