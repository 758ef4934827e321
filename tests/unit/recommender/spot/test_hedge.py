"""Hedging across spot pools."""

from __future__ import annotations

import pytest

from recommender.spot.hedge import (
    HedgeSettings,
    PoolRecord,
    expected_hourly_cost,
    largest_pools,
    on_demand_needed,
    preemption_rate,
)


def test_spread_over_four_pools_needs_no_on_demand() -> None:
    """R=2 with one replica in each of four pools survives losing two pools."""
    assert on_demand_needed(2, [1, 1, 1, 1], spare_pools=2) == 0


def test_missing_cover_is_filled_with_on_demand() -> None:
    """R=2 with three pools of one: losing two leaves one, so one on-demand."""
    assert on_demand_needed(2, [1, 1, 1], spare_pools=2) == 1


def test_on_demand_never_exceeds_the_replicas() -> None:
    """Spot that could all vanish at once still asks only R on-demand."""
    assert on_demand_needed(2, [3], spare_pools=2) == 2


def test_floor_is_kept_even_when_spot_covers() -> None:
    """A floor of one stays."""
    assert on_demand_needed(2, [1, 1, 1, 1], spare_pools=2, floor=1) == 1


def test_largest_pools_sums_the_biggest() -> None:
    """The two largest of 3, 1, 2 hold five."""
    assert largest_pools([3, 1, 2], 2) == 5


def test_preemption_rate_shrinks_towards_the_prior() -> None:
    """Nine preemptions in 90 hours with a prior of one in ten: ten in a hundred."""
    assert preemption_rate(PoolRecord(9, 90.0), HedgeSettings()) == pytest.approx(0.1)


def test_expected_cost_adds_warmup_and_risk_per_preemption() -> None:
    """$1 spot, $3 on-demand, 0.1/h, 10-min warm-up, 0.5 h risk: 1 + 0.1 x (1/6 + 0.5) x 3."""
    cost = expected_hourly_cost(1.0, 3.0, 0.1, 1 / 6, HedgeSettings())
    assert cost == pytest.approx(1.0 + 0.1 * (1 / 6 + 0.5) * 3.0)
