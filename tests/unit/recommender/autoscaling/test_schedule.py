"""The forecast and the floor schedule built from it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recommender.autoscaling.forecast import lead, replicas_for
from recommender.autoscaling.policy import ScalingPolicy
from recommender.autoscaling.schedule import plan_schedule
from tests.unit.recommender.autoscaling.series import DAY, HOUR, T0, daily, noise

POLICY = ScalingPolicy(floor_quantile=0.9, floor_utilisation=1.0, lead_slots=0)


def test_office_hours_floor_follows_the_peak() -> None:
    """The floor is 5 replicas 09:00-17:00 and 1 otherwise, for capacity 1."""
    schedule = plan_schedule(daily(1.0, 5.0, 14), 1.0, POLICY)
    assert schedule.replicas[9:17] == (5,) * 8
    assert set(schedule.replicas[:9] + schedule.replicas[17:]) == {1}


def test_lead_raises_the_floor_before_the_rise() -> None:
    """With one slot of lead the floor is already up at 08:00."""
    schedule = plan_schedule(daily(1.0, 5.0, 14), 1.0, replace(POLICY, lead_slots=1))
    assert schedule.replicas[8] == 5


def test_windows_merge_equal_slots() -> None:
    """An office-hours floor is three windows: night, day, evening."""
    windows = plan_schedule(daily(1.0, 5.0, 14), 1.0, POLICY).windows()
    assert [(w.start_seconds / HOUR, w.end_seconds / HOUR, w.replicas) for w in windows] == [
        (0, 9, 1),
        (9, 17, 5),
        (17, 24, 1),
    ]


def test_floor_at_maps_instants_to_their_slot() -> None:
    """Noon on a later day gets the noon floor."""
    schedule = plan_schedule(daily(1.0, 5.0, 14), 1.0, POLICY)
    noon = np.array([T0 + 30 * DAY + 12 * HOUR])
    assert schedule.floor_at(noon).tolist() == [5]


def test_demand_without_a_cycle_gets_a_flat_floor() -> None:
    """Noise yields one slot: the quantile of all demand."""
    schedule = plan_schedule(noise(3.0, 14), 1.0, POLICY)
    assert len(schedule.replicas) == 1


def test_lead_wraps_around_the_period() -> None:
    """The last slot of a period looks ahead to the first."""
    assert lead((5.0, 1.0, 1.0), 1) == (5.0, 1.0, 5.0)


def test_replicas_for_is_at_least_one() -> None:
    """No demand still keeps one replica."""
    assert replicas_for(0.0, 1.0, 0.7) == 1
