"""Our replayed policy never costs more than always-on-demand, even where spot buys nothing,
and still moves to spot where spot buys a lot."""

from __future__ import annotations

import numpy as np
import pytest

from bench.spot_policies import Slicewise
from bench.spot_sim import Outcome, Prices, replay, warmup_ticks

GAP_SECONDS = 600.0
WARMUP_SECONDS = 600.0
PRICES = Prices(on_demand=3.06, spot=(0.5,) * 6)


def _blinking(ticks: int, on: int, off: int) -> np.ndarray:
    """Six zones offering two instances for `on` ticks, then none for `off`, out of phase."""
    cycle = [2] * on + [0] * off
    repeated = cycle * (ticks // len(cycle) + 7)
    return np.array([repeated[zone : zone + ticks] for zone in range(6)], dtype=np.int64)


def _replay(availability: np.ndarray) -> Outcome:
    policy = Slicewise(4, PRICES.spot, PRICES.on_demand, GAP_SECONDS / 3600, WARMUP_SECONDS / 3600)
    return replay(
        policy,
        availability,
        PRICES,
        replicas=4,
        warmup_seconds=WARMUP_SECONDS,
        gap_seconds=GAP_SECONDS,
    )


@pytest.mark.parametrize(("on", "off"), [(2, 1), (3, 1)])
def test_spot_reclaimed_as_soon_as_it_serves_costs_no_more_than_on_demand(
    on: int, off: int
) -> None:
    """Capacity that vanishes a tick or two after a warm-up makes every spot start a loss."""
    outcome = _replay(_blinking(800, on, off))
    assert outcome.preemptions > 0, "the trace never tempted the policy onto spot"
    assert outcome.cost <= outcome.on_demand_cost


@pytest.mark.parametrize("ticks", [10, 40, 120, 300])
def test_cost_so_far_never_exceeds_on_demand(ticks: int) -> None:
    """Cut anywhere, the replay has cost at most what always-on-demand would have."""
    outcome = _replay(_blinking(ticks, 2, 1))
    assert outcome.cost <= outcome.on_demand_cost


def _late_and_steady(off: int, on: int) -> np.ndarray:
    """Six zones offering nothing for `off` ticks, then two instances each for `on` ticks."""
    row = [0] * off + [2] * on
    return np.array([row] * 6, dtype=np.int64)


def test_fleet_that_starts_on_demand_with_nothing_saved_moves_to_spot_when_it_pays() -> None:
    """Once the availability budget has room for a warm-up, spot that stays is taken up."""
    outcome = _replay(_late_and_steady(1200, 3000))
    assert outcome.spot_hours > 0.0
    assert outcome.cost < 0.8 * outcome.on_demand_cost
    assert outcome.availability >= 0.999


def test_fleet_whose_budget_has_no_room_stays_on_demand() -> None:
    """Before 1 - 99.9 % of the time so far covers a warm-up, an unfunded move is not made."""
    outcome = _replay(_late_and_steady(10, 900))
    assert outcome.spot_hours == 0.0
    assert outcome.cost == pytest.approx(outcome.on_demand_cost)


def test_on_demand_warming_after_every_zone_is_lost_is_not_stopped_for_later_spot() -> None:
    """Every zone empties for one tick: the on-demand started then serves before spot started
    a tick later, so the fleet is short for one warm-up, not longer."""
    gap, warmup = 200.0, 600.0
    row = [2] * 300 + [0] + [2] * 300
    availability = np.array([row] * 6, dtype=np.int64)
    policy = Slicewise(4, PRICES.spot, PRICES.on_demand, gap / 3600, warmup / 3600)
    outcome = replay(
        policy, availability, PRICES, replicas=4, warmup_seconds=warmup, gap_seconds=gap
    )
    assert outcome.preemptions > 0, "no spot ran when the zones emptied"
    assert outcome.scored_ticks - outcome.available_ticks == warmup_ticks(warmup, gap)
