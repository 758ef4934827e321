"""The `minReplicas` schedule: which floor holds when, where it next changes, what is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from protocol.min_replicas_schedule import (
    DAY_SECONDS,
    WEEK_SECONDS,
    MinReplicasSchedule,
    MinReplicasWindow,
)

DAY0 = 20_000 * DAY_SECONDS
OFFICE = MinReplicasSchedule(
    period_seconds=DAY_SECONDS,
    baseline=2,
    windows=[MinReplicasWindow(start_seconds=9 * 3600, end_seconds=17 * 3600, min_replicas=6)],
)


def test_the_window_floor_holds_inside_it_and_the_baseline_outside() -> None:
    """At 10:00 the office-hours floor holds; at 17:00 (its end) and 03:00 the baseline."""
    assert OFFICE.min_replicas_at(DAY0 + 10 * 3600) == 6
    assert OFFICE.min_replicas_at(DAY0 + 17 * 3600) == 2
    assert OFFICE.min_replicas_at(DAY0 + 3 * 3600) == 2


def test_the_next_boundary_is_the_next_window_edge_wrapping_to_the_next_day() -> None:
    """From 08:00 the next change is at 09:00; from 18:00 at 09:00 the next day."""
    assert OFFICE.next_boundary(DAY0 + 8 * 3600) == DAY0 + 9 * 3600
    assert OFFICE.next_boundary(DAY0 + 18 * 3600) == DAY0 + DAY_SECONDS + 9 * 3600


def test_overlapping_windows_are_refused() -> None:
    """Two windows covering the same hour are not a schedule."""
    with pytest.raises(ValidationError):
        MinReplicasSchedule(
            period_seconds=DAY_SECONDS,
            baseline=1,
            windows=[
                MinReplicasWindow(start_seconds=0, end_seconds=7200, min_replicas=3),
                MinReplicasWindow(start_seconds=3600, end_seconds=10800, min_replicas=4),
            ],
        )


def test_a_window_beyond_a_daily_period_is_refused() -> None:
    """A daily schedule cannot hold a window that ends on the second day."""
    with pytest.raises(ValidationError):
        MinReplicasSchedule(
            period_seconds=DAY_SECONDS,
            baseline=1,
            windows=[
                MinReplicasWindow(
                    start_seconds=0, end_seconds=WEEK_SECONDS // 7 + 1, min_replicas=2
                )
            ],
        )
