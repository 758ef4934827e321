"""Demand series: built from per-pod samples, bounded, split and resampled."""

from __future__ import annotations

import math

import numpy as np

from recommender.autoscaling.demand import DemandSeries, demand_from_samples, resample
from tests.unit.recommender.autoscaling.series import T0, flat


def test_demand_sums_usage_across_pods() -> None:
    """Two pods at 0.5 and 1.5 cores in the same minute make 2 cores of demand."""
    series = demand_from_samples([(T0, "a", 0.5), (T0 + 10, "b", 1.5)])
    assert series.values.tolist() == [2.0]


def test_a_pod_reported_twice_in_a_step_counts_once() -> None:
    """Two samples of one pod in a minute contribute their mean, not their sum."""
    series = demand_from_samples([(T0, "a", 1.0), (T0 + 30, "a", 3.0)])
    assert series.values.tolist() == [2.0]


def test_minutes_without_samples_are_gaps() -> None:
    """A minute with no sample is NaN, not zero demand."""
    series = demand_from_samples([(T0, "a", 1.0), (T0 + 120, "a", 1.0)])
    assert math.isnan(series.values[1])


def test_demand_is_bounded_to_the_newest_samples() -> None:
    """Only the newest `max_points` samples are kept, and the start moves with them."""
    samples = [(T0 + 60 * i, "a", float(i)) for i in range(10)]
    series = demand_from_samples(samples, max_points=3)
    assert series.values.tolist() == [7.0, 8.0, 9.0]
    assert series.start == T0 + 7 * 60


def test_split_keeps_every_sample_once() -> None:
    """The two parts of a split hold all samples, the second starting at the split instant."""
    head, tail = flat(1.0, 1.0).split(T0 + 3600)
    assert head.values.size + tail.values.size == 288
    assert tail.start == T0 + 3600


def test_resample_to_coarser_steps_averages_and_keeps_gaps() -> None:
    """Coarser steps are the mean of what is present; an all-gap step stays a gap."""
    series = DemandSeries(T0, 60.0, np.array([1.0, 3.0, np.nan, np.nan]))
    coarse = resample(series, 120.0)
    assert coarse.values[0] == 2.0
    assert math.isnan(coarse.values[1])
