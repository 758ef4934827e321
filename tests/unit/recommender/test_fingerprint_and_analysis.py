"""Fingerprints name what a recommendation is about; the analysis keeps one per fingerprint."""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np

from protocol.changes import ChangeSet, Cordon, WorkloadRef
from protocol.recommendation import Recommendation, RecommendationKind, Risk
from protocol.snapshot import WorkloadKind
from recommender.analysis import (
    ClusterCost,
    ClusterState,
    analyse_cluster,
    cluster_cost,
    unique_by_fingerprint,
)
from recommender.autoscaling.demand import DemandSeries
from recommender.fingerprint import fingerprint
from recommender.pricing.bundled import bundled_catalogues
from recommender.pricing.pricebook import PriceBook
from tests.unit.workers.factories import T0, shop_snapshot

WEB0 = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web0")


def _rec(
    kind: RecommendationKind,
    saving: float,
    *,
    workload: WorkloadRef | None = None,
    node: str | None = None,
    evidence: dict[str, str] | None = None,
) -> Recommendation:
    return Recommendation(
        recommendation_id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        kind=kind,
        workload=workload,
        node=node,
        title="t",
        reason="r",
        evidence=dict(evidence or {}),
        risk=Risk.LOW,
        monthly_saving_usd=saving,
        change_set=ChangeSet(actions=[Cordon(node="node-a")]),
        created_at=T0,
    )


def test_fingerprint_names_kind_workload_and_node() -> None:
    """Rightsizing of web0 and consolidation of node-a read as kind|target|node."""
    assert fingerprint(_rec(RecommendationKind.RIGHTSIZING, 1, workload=WEB0)) == (
        "rightsizing|Deployment/shop/web0|"
    )
    assert fingerprint(_rec(RecommendationKind.CONSOLIDATION, 1, node="node-a")) == (
        "consolidation||node-a"
    )


def test_fingerprint_ignores_figures_that_change_between_analyses() -> None:
    """Two rightsizings of web0 with different savings and ids share a fingerprint."""
    first = _rec(RecommendationKind.RIGHTSIZING, 10.0, workload=WEB0)
    second = _rec(RecommendationKind.RIGHTSIZING, 99.0, workload=WEB0)
    assert fingerprint(first) == fingerprint(second)


def test_each_spot_notice_is_its_own_evacuation() -> None:
    """Two evacuations of node-b for two notices have two fingerprints."""
    one = _rec(RecommendationKind.SPOT_EVACUATION, 0, node="node-b", evidence={"notice_id": "1"})
    two = _rec(RecommendationKind.SPOT_EVACUATION, 0, node="node-b", evidence={"notice_id": "2"})
    assert fingerprint(one) == "spot-evacuation||node-b|1"
    assert fingerprint(one) != fingerprint(two)


def test_unique_by_fingerprint_keeps_the_largest_saving_first() -> None:
    """Of two web0 rightsizings the 30-dollar one stays, ahead of a 20-dollar consolidation."""
    small = _rec(RecommendationKind.RIGHTSIZING, 5.0, workload=WEB0)
    large = _rec(RecommendationKind.RIGHTSIZING, 30.0, workload=WEB0)
    node = _rec(RecommendationKind.CONSOLIDATION, 20.0, node="node-a")
    assert unique_by_fingerprint([small, node, large]) == [large, node]


def test_analysis_of_an_idle_two_node_cluster_empties_a_node() -> None:
    """Four half-core pods fit on one m5.2xlarge: node-a's release saves its monthly price."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    state = ClusterState(
        snapshot, {}, PriceBook(catalogues=bundled_catalogues()), T0 + timedelta(hours=1)
    )
    found = analyse_cluster(state).recommendations
    assert [(r.kind, r.node) for r in found] == [(RecommendationKind.CONSOLIDATION, "node-a")]
    assert found[0].monthly_saving_usd > 0


def test_analysis_gives_each_recommendation_its_fingerprint_and_group_and_the_cost() -> None:
    """What the worker stores comes out of the one analysis: fingerprints, groups, cost."""
    snapshot = shop_snapshot(uuid.uuid4(), 1)
    pricebook = PriceBook(catalogues=bundled_catalogues())
    analysis = analyse_cluster(ClusterState(snapshot, {}, pricebook, T0 + timedelta(hours=1)))
    (found,) = analysis.recommendations
    assert analysis.fingerprints == {found.recommendation_id: fingerprint(found)}
    assert set(analysis.groups) == {fingerprint(found)}
    assert analysis.cost == cluster_cost(snapshot, pricebook)


def test_cluster_cost_prices_spot_nodes_at_the_spot_price() -> None:
    """m5.2xlarge in eu-west-1 at 0.428 USD/h: 312.44 on-demand plus 124.98 on spot (60 % off)."""
    cost = cluster_cost(shop_snapshot(uuid.uuid4(), 1), PriceBook(catalogues=bundled_catalogues()))
    assert cost == ClusterCost(monthly_usd=437.42, priced_nodes=2)


def test_analysis_with_demand_history_advises_autoscaling() -> None:
    """Four web0 replicas for demand of a fraction of one pod get autoscaling advice."""
    snapshot = shop_snapshot(uuid.uuid4(), 1, replicas=4)
    web0 = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web0")
    hours = np.arange(14 * 288) * 300 / 3600 % 24
    demand = DemandSeries(0.0, 300.0, np.where((hours >= 9) & (hours < 17), 0.3, 0.05))
    state = ClusterState(
        snapshot,
        {},
        PriceBook(catalogues=bundled_catalogues()),
        T0 + timedelta(hours=1),
        demand={web0: demand},
    )
    found = analyse_cluster(state).recommendations
    assert (RecommendationKind.AUTOSCALING, web0) in [(r.kind, r.workload) for r in found]
