"""On-demand floors, the single-replica surge and how the floor is expressed."""

from __future__ import annotations

from recommender.spot.placement import (
    PlacementInputs,
    PlacementRefusal,
    PoolTerms,
    SpotPlacement,
    floor_expression,
    plan_placement,
)
from recommender.spot.policy import SpotPolicy
from recommender.spot.pools import Capacity, SpotPool
from recommender.spot.readiness import SpotReadiness
from recommender.spot.split import SplitSettings


def _readiness(replicas: int, minimum: int, has_pdb: bool = True) -> SpotReadiness:
    return SpotReadiness(("Deployment", "shop", "web"), True, (), None, replicas, minimum, has_pdb)


def _pools(zones: int) -> tuple[SpotPool, ...]:
    return tuple(SpotPool("m5.xlarge", f"z{i}", (f"n{i}",)) for i in range(zones))


def _capacity(zones: int, on_demand: bool = True) -> Capacity:
    return Capacity(_pools(zones), ("od",) if on_demand else (), ())


def _inputs(zones: int, spot_hourly: float = 0.3) -> PlacementInputs:
    return PlacementInputs(
        per_replica_on_demand_hourly=1.0,
        pools={pool: PoolTerms(spot_hourly, None) for pool in _pools(zones)},
        startup_seconds=60.0,
        running={},
    )


def _plan(
    replicas: int, minimum: int, zones: int = 3, *, has_pdb: bool = True
) -> SpotPlacement | PlacementRefusal:
    return plan_placement(
        _readiness(replicas, minimum, has_pdb),
        _capacity(zones),
        _inputs(zones),
        SpotPolicy(),
        SplitSettings(),
    )


def test_the_pdb_minimum_stays_on_demand_and_the_rest_spreads_over_pools() -> None:
    """6 replicas, min 4, 3 pools: 4 on-demand, 2 spot in two different pools."""
    placement = _plan(6, 4)
    assert isinstance(placement, SpotPlacement)
    assert (placement.on_demand_replicas, placement.spot_replicas) == (4, 2)
    assert sorted(placement.spot_by_pool.values()) == [1, 1]
    assert placement.worst_pool_loss == 1


def test_floor_above_half_prefers_on_demand_and_caps_it_with_the_skew() -> None:
    """4 of 6 on on-demand: prefer on-demand, maxSkew 2 stops it at 4."""
    placement = _plan(6, 4)
    assert isinstance(placement, SpotPlacement)
    assert (placement.capacity_max_skew, placement.prefer_on_demand) == (2, True)


def test_floor_up_to_half_prefers_spot_and_caps_spot_with_the_skew() -> None:
    """3 of 8 on on-demand: prefer spot, maxSkew 2 keeps 3 on on-demand."""
    assert floor_expression(8, 3) == (2, False)
    assert floor_expression(6, 0) == (None, False)


def test_no_pdb_uses_the_default_budget_and_creates_one() -> None:
    """8 replicas without a PDB: 25 % maxUnavailable keeps 6 on on-demand, 2 on spot."""
    placement = _plan(8, 0, zones=4, has_pdb=False)
    assert isinstance(placement, SpotPlacement)
    assert (placement.min_available, placement.on_demand_replicas, placement.create_pdb) == (
        6,
        6,
        True,
    )
    assert placement.pdb_min_available is None


def test_single_replica_goes_to_spot_with_a_surge_pdb() -> None:
    """One (annotated) replica: spot, surge on notice, a PDB of minAvailable 1 created."""
    placement = _plan(1, 0, has_pdb=False)
    assert isinstance(placement, SpotPlacement)
    assert (placement.on_demand_replicas, placement.spot_replicas) == (0, 1)
    assert placement.surge_on_notice
    assert placement.pdb_min_available == 1
    assert (placement.capacity_max_skew, placement.prefer_on_demand) == (1, False)


def test_spot_not_cheaper_in_expectation_moves_nothing() -> None:
    """Pools priced at on-demand are never used."""
    placement = plan_placement(
        _readiness(6, 2), _capacity(3), _inputs(3, spot_hourly=1.0), SpotPolicy(), SplitSettings()
    )
    assert placement is PlacementRefusal.NOTHING_TO_MOVE


def test_no_spot_pools_is_refused() -> None:
    """Nothing to place on."""
    assert _plan(6, 4, zones=0) is PlacementRefusal.NO_SPOT_POOLS


def test_floor_without_labelled_on_demand_nodes_is_refused() -> None:
    """The capacity spread needs on-demand nodes carrying the capacity label."""
    assert (
        plan_placement(
            _readiness(6, 4),
            _capacity(3, on_demand=False),
            _inputs(3),
            SpotPolicy(),
            SplitSettings(),
        )
        is PlacementRefusal.NO_ON_DEMAND_NODES
    )
