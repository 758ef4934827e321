"""`plan_split`: the promises kept and the expected-cost guard."""

from __future__ import annotations

import pytest

from recommender.spot.split import (
    PoolOffer,
    SplitRequest,
    SplitSettings,
    beats_on_demand,
    plan_split,
    spares_needed,
)


def _request(
    *,
    serving: int = 4,
    after_pool_loss: int = 4,
    floor: int = 0,
    rates: tuple[float, ...] = (0.01, 0.01, 0.01),
    spot_hourly: float = 0.3,
    total_fixed: bool = False,
    obtainable: int | None = None,
) -> SplitRequest:
    return SplitRequest(
        serving=serving,
        after_pool_loss=after_pool_loss,
        after_all_spot_loss=floor,
        pools=tuple(
            PoolOffer(f"z{i}", spot_hourly, rate, obtainable) for i, rate in enumerate(rates)
        ),
        on_demand_hourly=1.0,
        warmup_hours=0.2,
        total_fixed=total_fixed,
    )


def test_over_provisioned_spot_survives_the_largest_pool() -> None:
    """4 needed over 3 calm pools: 2+2+2 spot, any pool's loss leaves 4, no on-demand."""
    split = plan_split(_request(), SplitSettings(spare_pools=1))
    assert split.on_demand == 0
    assert sorted(split.spot.values()) == [2, 2, 2]
    assert split.expected_hourly < split.on_demand_only_hourly


def test_pools_reclaiming_often_are_not_worth_it() -> None:
    """A reclaim rate making spot dearer than on-demand in expectation leaves all on-demand."""
    split = plan_split(_request(rates=(2.0, 2.0, 2.0)), SplitSettings(risk_hours=0.5))
    assert (split.on_demand, split.spot_replicas) == (4, 0)
    assert split.expected_hourly == pytest.approx(split.on_demand_only_hourly)


def test_expected_cost_never_exceeds_on_demand() -> None:
    """One pool holding one replica cannot cover its own loss: on-demand is cheaper."""
    split = plan_split(_request(rates=(0.01,), obtainable=1), SplitSettings(spare_pools=1))
    assert split.spot_replicas == 0
    assert split.expected_hourly <= split.on_demand_only_hourly


def test_fixed_total_keeps_the_floor_on_demand() -> None:
    """6 replicas, floor 4, fixed total: 4 on-demand, 2 spot in two pools."""
    split = plan_split(
        _request(serving=6, after_pool_loss=4, floor=4, total_fixed=True), SplitSettings()
    )
    assert (split.on_demand, split.spot_replicas, split.worst_pool_loss) == (4, 2, 1)


def test_frequent_reclaims_within_a_warm_up_need_a_second_spare_pool() -> None:
    """Four pools each lost 0.1 times an hour and a 0.2 h warm-up: two pools are down at once
    0.30 % of the time, beyond a 99.9 % target, so the split survives two pools, not one."""
    pools = _request(rates=(0.1,) * 4).pools
    spot = [2, 2, 1, 1]
    assert spares_needed(pools, spot, 0.2, SplitSettings(spare_pools=1)) == 2
    assert spares_needed(pools, spot, 0.2, SplitSettings(availability_target=None)) == 1


def test_pools_down_together_within_the_target_keep_one_spare() -> None:
    """Four pools lost 0.05 times an hour each: two down at once 0.08 % of the time at a 0.2 h
    warm-up, inside a 99.9 % target; one spare pool is enough."""
    pools = _request(rates=(0.05,) * 4).pools
    assert spares_needed(pools, [2, 2, 1, 1], 0.2, SplitSettings(spare_pools=1)) == 1


def test_a_pool_is_lost_as_one_however_many_replicas_it_holds() -> None:
    """Its replicas go together: more of them in the same pools adds no loss to survive."""
    pools = _request(rates=(0.1,) * 4).pools
    settings = SplitSettings(spare_pools=1)
    assert spares_needed(pools, [3, 3, 3, 3], 0.2, settings) == spares_needed(
        pools, [1, 1, 1, 1], 0.2, settings
    )
    assert spares_needed(pools, [3, 3, 0, 0], 0.2, settings) == 1


def test_advisor_level_reclaims_keep_the_configured_spare() -> None:
    """A 20 %-a-month bucket over 6 replicas is far inside the budget: one spare pool."""
    pools = _request(rates=(0.2 / 730,) * 4).pools
    assert spares_needed(pools, [2, 2, 1, 1], 0.2, SplitSettings(spare_pools=1)) == 1


def test_split_survives_the_spares_its_reclaim_rate_needs() -> None:
    """Frequent reclaims over 4 pools: the chosen split keeps R through its two largest pools."""
    split = plan_split(_request(rates=(0.1,) * 4, spot_hourly=0.1), SplitSettings(spare_pools=1))
    assert split.spare_pools == 2
    lost = sum(sorted(split.spot.values(), reverse=True)[: split.spare_pools])
    assert split.on_demand + split.spot_replicas - lost >= 4


def test_a_plan_costing_what_on_demand_costs_does_not_beat_it() -> None:
    """Equal cost is no reason to take spot's risk: the workload stays on on-demand."""
    assert not beats_on_demand(4.0, 4.0)
    assert beats_on_demand(3.99, 4.0)
