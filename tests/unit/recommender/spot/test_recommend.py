"""Priced spot recommendations."""

from __future__ import annotations

import pytest

from protocol.recommendation import RecommendationKind, Risk
from recommender.cost.node_rates import pod_hourly_usd
from recommender.spot.recommend import recommend_spot
from tests.unit.recommender.factories import NOW, pdb, pricebook, workload
from tests.unit.recommender.spot.scenario import spot_cluster


def test_saving_is_todays_cost_minus_the_splits_expected_cost() -> None:
    """6 on-demand replicas, each priced at m5.4xlarge's per-resource rates, minus the split."""
    cluster = spot_cluster()
    per_replica = pod_hourly_usd(cluster.workloads[0].template, cluster.nodes[0], 0.768)
    recs = recommend_spot(cluster, pricebook(), NOW)
    assert len(recs) == 1
    rec = recs[0]
    assert rec.kind is RecommendationKind.SPOT
    assert (rec.evidence["on_demand_replicas"], rec.evidence["replicas_moved"]) == (4, 2)
    expected = rec.evidence["expected_hourly_usd"]
    assert isinstance(expected, float)
    assert rec.evidence["per_replica_on_demand_hourly_usd"] == pytest.approx(per_replica, abs=1e-4)
    assert rec.monthly_saving_usd == pytest.approx((6 * per_replica - expected) * 730, abs=0.01)


def test_pool_in_a_frequent_interruption_bucket_raises_the_risk() -> None:
    """c5.xlarge sits in the 15-20 % bucket: medium risk."""
    rec = recommend_spot(spot_cluster(), pricebook(), NOW)[0]
    assert rec.risk is Risk.MEDIUM
    assert "15-20%" in rec.risk_note


def test_workload_not_ready_gets_no_recommendation() -> None:
    """A PDB allowing no eviction means no spot recommendation."""
    snap = spot_cluster(budgets=[pdb("web", "web", min_available=6)])
    assert recommend_spot(snap, pricebook(), NOW) == []


def test_recommendation_id_is_stable_for_the_same_snapshot() -> None:
    """Computing twice gives the same id."""
    first = recommend_spot(spot_cluster(), pricebook(), NOW)[0]
    again = recommend_spot(spot_cluster(), pricebook(), NOW)[0]
    assert first.recommendation_id == again.recommendation_id


def test_computed_from_pins_the_workload_version() -> None:
    """The recommendation records the Deployment's resourceVersion."""
    rec = recommend_spot(spot_cluster(workload("web", replicas=6)), pricebook(), NOW)[0]
    assert [(v.kind, v.name, v.resource_version) for v in rec.computed_from] == [
        ("Deployment", "web", "42")
    ]
