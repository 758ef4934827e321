"""On-demand headroom for the floor plus the worst pool's pods, and the nodes it lacks."""

from __future__ import annotations

import pytest

from recommender.cost.node_rates import pod_hourly_usd
from recommender.inventory import Inventory
from recommender.spot.headroom import on_demand_headroom
from recommender.spot.policy import SpotPolicy
from recommender.spot.recommend import recommend_spot
from tests.unit.recommender.factories import (
    GIB,
    NOW,
    node,
    pdb,
    pod_of,
    pricebook,
    snapshot,
    workload,
)
from tests.unit.recommender.spot.scenario import SPOT_TAINT


def _tight_cluster(od_cpu: int) -> Inventory:
    """One m5.xlarge on-demand node of `od_cpu` millicores running 6 web pods (500m each)."""
    web = workload("web", replicas=6)
    nodes = [
        node("od-1", cpu=od_cpu, memory=64 * GIB, instance_type="m5.xlarge"),
        node("spot-a", spot=True, zone="us-east-1a", taints=[SPOT_TAINT]),
        node("spot-b", spot=True, zone="us-east-1b", taints=[SPOT_TAINT]),
    ]
    pods = [pod_of(web, i, "od-1") for i in range(6)]
    return Inventory.build(snapshot(nodes, pods, [web], [pdb("web", "web", min_available=4)]))


def test_room_on_existing_nodes_needs_nothing_added() -> None:
    """4 000 m free beside the 6 pods: floor 4 + worst pool 1 fit."""
    inventory = _tight_cluster(od_cpu=7000)
    web = inventory.snapshot.workloads[0]
    room = on_demand_headroom(
        web.template, 6, ("od-1",), inventory, pricebook(), floor=4, worst_pool_loss=1
    )
    assert room.sufficient
    assert room.nodes_to_add == 0


def test_missing_room_is_bought_as_nodes_of_the_cheapest_type() -> None:
    """A full node, floor 4 + worst pool 3 minus 0 kept: 7 pods need two more m5.xlarge."""
    inventory = _tight_cluster(od_cpu=3000)
    web = inventory.snapshot.workloads[0]
    room = on_demand_headroom(
        web.template, 0, ("od-1",), inventory, pricebook(), floor=4, worst_pool_loss=3
    )
    assert (room.pods_needed, room.pods_free, room.nodes_to_add) == (7, 0, 2)
    assert room.node_instance_type == "m5.xlarge"
    assert room.added_hourly_usd == pytest.approx(2 * 0.192)


def test_recommendation_saving_is_net_of_nodes_to_add() -> None:
    """A new web of 24 (min 6) beside an on-demand node with room for 3: floor 6 + the worst
    pool's 6 need 12, so one m5.xlarge (9 pods) is added and its cost netted; a replica is
    priced at its node's per-resource rates."""
    web, db = workload("web", replicas=24), workload("db", replicas=6)
    nodes = [
        node("od-1", cpu=4500, memory=16 * GIB, instance_type="m5.xlarge"),
        *(node(f"spot-{z}", spot=True, zone=f"us-east-1{z}", taints=[SPOT_TAINT]) for z in "abc"),
    ]
    pods = [pod_of(db, i, "od-1") for i in range(6)]
    snap = snapshot(nodes, pods, [web], [pdb("web", "web", min_available=6)])
    recs = recommend_spot(snap, pricebook(), NOW)
    assert len(recs) == 1
    headroom = recs[0].evidence["on_demand_headroom"]
    assert isinstance(headroom, dict)
    assert (headroom["pods_needed"], headroom["pods_free"], headroom["nodes_to_add"]) == (12, 3, 1)
    assert "1 m5.xlarge node(s) are added" in recs[0].reason
    expected = recs[0].evidence["expected_hourly_usd"]
    assert isinstance(expected, float)
    per_replica = pod_hourly_usd(web.template, nodes[0], 0.192)
    assert recs[0].monthly_saving_usd == pytest.approx(
        (24 * per_replica - expected - 0.192) * 730, abs=0.02
    )


def test_nodes_to_add_that_eat_the_saving_leave_the_workload_on_demand() -> None:
    """web of 6 (min 3) beside an on-demand node with room for 3: the floor and the worst
    pool need a whole m5.xlarge added, dearer than what spot saves on six small replicas, so
    even with no minimum saving nothing is recommended."""
    web, db = workload("web", replicas=6), workload("db", replicas=6)
    nodes = [
        node("od-1", cpu=4500, memory=16 * GIB, instance_type="m5.xlarge"),
        *(node(f"spot-{z}", spot=True, zone=f"us-east-1{z}", taints=[SPOT_TAINT]) for z in "abc"),
    ]
    pods = [pod_of(db, i, "od-1") for i in range(6)]
    snap = snapshot(nodes, pods, [web], [pdb("web", "web", min_available=3)])
    assert recommend_spot(snap, pricebook(), NOW, SpotPolicy(min_monthly_saving_usd=0.0)) == []
