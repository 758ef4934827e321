"""The Kubernetes HPA algorithm as documented, replayed over demand."""

from __future__ import annotations

import numpy as np

from recommender.autoscaling.hpa_algorithm import (
    HpaSettings,
    desired_replicas,
    ready_replicas,
    replay_hpa,
    scale_up_limit,
)
from tests.unit.recommender.autoscaling.series import flat, step_up

TICKS_PER_MINUTE = 4


def test_desired_replicas_is_the_ceiling_of_the_scaled_count() -> None:
    """4 replicas at 90 % of a 50 % target want ceil(4 * 0.9 / 0.5) = 8."""
    assert desired_replicas(4, 4 * 0.9, 0.5, 0.1) == 8


def test_a_ratio_within_tolerance_keeps_the_count() -> None:
    """A metric 8 % above target is inside the 0.1 tolerance: no change."""
    assert desired_replicas(10, 10 * 0.7 * 1.08, 0.7, 0.1) == 10


def test_scale_up_is_limited_by_the_default_policies() -> None:
    """One period may add four pods or double, whichever is more."""
    assert (scale_up_limit(1), scale_up_limit(10)) == (5, 20)


def test_steady_demand_settles_at_the_target() -> None:
    """Demand of 7 with capacity 1 at a 70 % target runs 10 replicas."""
    replay = replay_hpa(flat(7.0, 0.1), 1.0, HpaSettings(target_utilisation=0.7))
    assert replay.replicas[-1] == 10


def test_scale_up_waits_for_the_metric_lag() -> None:
    """A rise at minute 10 is first acted on one metric resolution (a minute) later."""
    demand = step_up(1.0, 10.0, at_minute=10, minutes=20)
    replay = replay_hpa(demand, 1.0, HpaSettings(target_utilisation=0.5, min_replicas=2))
    first_change = int(np.flatnonzero(replay.replicas > 2)[0])
    assert first_change == 11 * TICKS_PER_MINUTE


def test_scale_down_waits_for_the_stabilisation_window() -> None:
    """Replicas drop five minutes after the last high recommendation, not before."""
    demand = step_up(10.0, 1.0, at_minute=10, minutes=30)
    settings = HpaSettings(target_utilisation=0.5)
    replay = replay_hpa(demand, 1.0, settings, initial_replicas=20)
    first_drop = int(np.flatnonzero(replay.replicas < 20)[0])
    last_high = 11 * TICKS_PER_MINUTE - 1
    assert first_drop == last_high + 5 * TICKS_PER_MINUTE


def test_a_floor_schedule_raises_replicas_at_once() -> None:
    """A `minReplicas` floor above the count applies without waiting for the metric."""
    demand = flat(1.0, 0.01, step=60.0)
    floor = np.array([1] * 5 + [6] * (demand.values.size - 5), dtype=np.int64)
    replay = replay_hpa(demand, 1.0, HpaSettings(target_utilisation=0.5), floor=floor)
    assert replay.replicas[5 * TICKS_PER_MINUTE] == 6


def test_new_pods_serve_after_the_startup_delay() -> None:
    """Replicas added at one tick count as serving only `startup` ticks later."""
    replicas = np.array([1, 3, 3, 3, 3], dtype=np.int64)
    assert ready_replicas(replicas, 2).tolist() == [1, 1, 1, 3, 3]
