"""Daily and weekly demand patterns, and how strong they are.

A pattern's strength is the share of demand variance that the seasonal profile (the mean demand
of each hour of the day, or of the week) explains, adjusted for the number of slots (as an
adjusted R squared): 0 for noise or a flat line, 1 for a series that repeats exactly. It is
computed on hourly means, so minute-level noise does not hide a clear daily shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from recommender.autoscaling.demand import DemandSeries, resample

HOUR = 3600.0
DAY = 24 * HOUR
WEEK = 7 * DAY


class Period(StrEnum):
    """The repeating cycle a demand series follows."""

    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"


PERIOD_SECONDS = {Period.DAILY: DAY, Period.WEEKLY: WEEK}


@dataclass(frozen=True, slots=True)
class Pattern:
    """The cycle that explains demand best, with both strengths."""

    period: Period
    daily_strength: float
    weekly_strength: float

    @property
    def strength(self) -> float:
        """The strength of the chosen cycle (0 when none)."""
        return {
            Period.NONE: 0.0,
            Period.DAILY: self.daily_strength,
            Period.WEEKLY: self.weekly_strength,
        }[self.period]


def seasonal_strength(series: DemandSeries, period_seconds: float, slot_seconds: float) -> float:
    """Share of the variance of `series` explained by its mean per slot of the period.

    Needs at least two full periods of data; returns 0 otherwise.
    """
    hourly = resample(series, slot_seconds) if slot_seconds > series.step_seconds else series
    values = hourly.values
    present = ~np.isnan(values)
    if hourly.values.size * hourly.step_seconds < 2 * period_seconds or present.sum() < 2:
        return 0.0
    slots = slot_index(hourly, period_seconds)
    n_slots = round(period_seconds / hourly.step_seconds)
    counts = np.bincount(slots[present], minlength=n_slots)
    sums = np.bincount(slots[present], weights=values[present], minlength=n_slots)
    profile = np.divide(sums, counts, out=np.zeros(n_slots), where=counts > 0)
    residual = values[present] - profile[slots[present]]
    total = float(np.var(values[present]))
    n, k = int(present.sum()), int(np.count_nonzero(counts))
    if total <= 0 or n <= k:
        return 0.0
    # Adjusted for the profile's own degrees of freedom: with few cycles, a profile of many
    # slots fits noise, and the weekly profile has seven times the daily one's slots.
    unexplained = float(np.var(residual)) / total * (n - 1) / (n - k)
    return float(max(0.0, 1.0 - unexplained))


def slot_index(series: DemandSeries, period_seconds: float) -> np.ndarray:
    """The slot of the period each sample falls in (slots are `step_seconds` long, UTC)."""
    n_slots = max(1, round(period_seconds / series.step_seconds))
    phase = np.floor(np.mod(series.seconds(), period_seconds) / series.step_seconds)
    return np.minimum(phase.astype(np.int64), n_slots - 1)


def detect_pattern(
    series: DemandSeries, *, min_strength: float = 0.3, weekly_gain: float = 0.1
) -> Pattern:
    """The cycle demand follows: weekly if it explains clearly more than daily, else daily.

    A weekly profile has seven times the slots of a daily one, so it always explains a little
    more; it is chosen only when it adds `weekly_gain` of explained variance.
    """
    daily = seasonal_strength(series, DAY, HOUR)
    weekly = seasonal_strength(series, WEEK, HOUR)
    if weekly >= min_strength and weekly >= daily + weekly_gain:
        period = Period.WEEKLY
    elif daily >= min_strength:
        period = Period.DAILY
    else:
        period = Period.NONE
    return Pattern(period=period, daily_strength=daily, weekly_strength=weekly)
