"""Hand-built demand series for the autoscaling tests."""

from __future__ import annotations

import numpy as np

from recommender.autoscaling.demand import DemandSeries

MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
# A Monday 00:00 UTC, so weekday arithmetic in tests is easy to follow.
T0 = 1_700_438_400.0


def flat(level: float, days: float, step: float = 300.0) -> DemandSeries:
    """Constant demand."""
    return DemandSeries(T0, step, np.full(int(days * DAY / step), level))


def daily(base: float, peak: float, days: float, step: float = 300.0) -> DemandSeries:
    """`peak` from 09:00 to 17:00 UTC every day, `base` otherwise."""
    seconds = T0 + step * np.arange(int(days * DAY / step))
    hour = np.mod(seconds, DAY) / HOUR
    return DemandSeries(T0, step, np.where((hour >= 9) & (hour < 17), peak, base))


def weekdays(base: float, peak: float, days: float, step: float = 300.0) -> DemandSeries:
    """`peak` all day Monday to Friday, `base` at weekends."""
    seconds = T0 + step * np.arange(int(days * DAY / step))
    weekday = np.floor((seconds - T0) / DAY).astype(np.int64) % 7
    return DemandSeries(T0, step, np.where(weekday < 5, peak, base))


def noise(mean: float, days: float, step: float = 300.0, seed: int = 7) -> DemandSeries:
    """Independent noise around `mean`, no cycle."""
    rng = np.random.default_rng(seed)
    return DemandSeries(T0, step, rng.gamma(4.0, mean / 4.0, int(days * DAY / step)))


def step_up(low: float, high: float, at_minute: int, minutes: int) -> DemandSeries:
    """One-minute samples at `low`, then `high` from `at_minute` on."""
    values = np.full(minutes, low)
    values[at_minute:] = high
    return DemandSeries(T0, MINUTE, values)
