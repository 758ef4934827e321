"""On-demand floors and pool spreading."""

from __future__ import annotations

from recommender.spot.placement import PlacementRefusal, SpotPlacement, plan_placement
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import Capacity, SpotPool
from recommender.spot.readiness import SpotReadiness


def _readiness(replicas: int, minimum: int, has_pdb: bool = True) -> SpotReadiness:
    return SpotReadiness(("Deployment", "shop", "web"), True, (), None, replicas, minimum, has_pdb)


def _capacity(zones: int, on_demand: bool = True) -> Capacity:
    pools = tuple(SpotPool("m5.xlarge", f"z{i}", (f"n{i}",)) for i in range(zones))
    return Capacity(pools, ("od",) if on_demand else (), ())


def test_zone_spread_within_the_budget_needs_only_the_floor() -> None:
    """6 replicas, min 4, 3 zones: a zone holds at most 2, so 1 on-demand and 5 spot."""
    placement = plan_placement(_readiness(6, 4), _capacity(3), SpotPolicy())
    assert isinstance(placement, SpotPlacement)
    assert (placement.on_demand_replicas, placement.spot_replicas) == (1, 5)
    assert (placement.worst_pool_loss, placement.capacity_max_skew) == (2, 4)
    assert placement.zone_spread_required


def test_budget_smaller_than_a_zone_keeps_the_minimum_on_demand() -> None:
    """6 replicas, min 4, 2 zones: a zone could hold 3 > 2, so 4 stay on-demand (> half)."""
    assert (
        plan_placement(_readiness(6, 4), _capacity(2), SpotPolicy())
        is PlacementRefusal.FLOOR_NOT_EXPRESSIBLE
    )


def test_minimum_up_to_half_stays_on_demand_when_zones_are_few() -> None:
    """8 replicas, min 4, 1 zone: 4 on-demand, 4 spot, capacity skew 1 keeps 4 on-demand."""
    placement = plan_placement(_readiness(8, 4), _capacity(1), SpotPolicy())
    assert isinstance(placement, SpotPlacement)
    assert (placement.on_demand_replicas, placement.spot_replicas) == (4, 4)
    assert placement.capacity_max_skew == 1
    assert placement.worst_pool_loss == 4
    assert not placement.zone_spread_required


def test_no_pdb_uses_the_default_budget_and_creates_one() -> None:
    """8 replicas without a PDB: 25 % maxUnavailable keeps 6; 4 zones hold 2 each."""
    placement = plan_placement(_readiness(8, 0, has_pdb=False), _capacity(4), SpotPolicy())
    assert isinstance(placement, SpotPlacement)
    assert (placement.min_available, placement.on_demand_replicas, placement.create_pdb) == (
        6,
        1,
        True,
    )


def test_zero_floor_puts_every_replica_on_spot_without_a_capacity_spread() -> None:
    """With no floor and a safe spread, nothing stays on on-demand."""
    placement = plan_placement(_readiness(6, 4), _capacity(3), SpotPolicy(on_demand_floor=0))
    assert isinstance(placement, SpotPlacement)
    assert (placement.spot_replicas, placement.capacity_max_skew) == (6, None)


def test_no_spot_pools_is_refused() -> None:
    """Nothing to place on."""
    assert (
        plan_placement(_readiness(6, 4), _capacity(0), SpotPolicy())
        is PlacementRefusal.NO_SPOT_POOLS
    )


def test_floor_without_labelled_on_demand_nodes_is_refused() -> None:
    """The capacity spread needs on-demand nodes carrying the capacity label."""
    assert (
        plan_placement(_readiness(6, 4), _capacity(3, on_demand=False), SpotPolicy())
        is PlacementRefusal.NO_ON_DEMAND_NODES
    )
