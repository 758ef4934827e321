"""Forecast demand per slot of its cycle: a seasonal profile of a high quantile.

Method: detect whether demand repeats daily or weekly (`pattern.detect_pattern`). Cut the newest
`recent_cycles` cycles of history into slots (an hour of the day, or of the week) and forecast
each slot as the `floor_quantile` of every sample that fell in it, so the forecast is what demand
stayed under in most past occurrences of that hour. Without a cycle the profile is one flat slot.
The floor is then raised `lead_slots` ahead of each rise, because new pods need time to serve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.pattern import PERIOD_SECONDS, Pattern, Period, detect_pattern
from recommender.autoscaling.policy import ScalingPolicy


@dataclass(frozen=True, slots=True)
class SeasonalForecast:
    """Forecast demand for each slot of a repeating period (one slot when there is no cycle)."""

    pattern: Pattern
    period_seconds: float
    slot_seconds: float
    demand: tuple[float, ...]

    def at(self, seconds: NDArray[np.float64]) -> NDArray[np.float64]:
        """Forecast demand at each instant."""
        profile = np.asarray(self.demand)
        slots = np.floor(np.mod(seconds, self.period_seconds) / self.slot_seconds).astype(np.int64)
        return profile[np.minimum(slots, profile.size - 1)]


def forecast_demand(history: DemandSeries, policy: ScalingPolicy) -> SeasonalForecast:
    """The per-slot quantile profile of `history` (see the module docstring)."""
    pattern = detect_pattern(history, min_strength=policy.min_pattern_strength)
    if pattern.period is Period.NONE:
        return SeasonalForecast(
            pattern,
            policy.slot_seconds,
            policy.slot_seconds,
            (history.quantile(policy.floor_quantile),),
        )
    period = PERIOD_SECONDS[pattern.period]
    recent = history.split(history.end - policy.recent_cycles * period)[1]
    n_slots = round(period / policy.slot_seconds)
    slots = np.floor(np.mod(recent.seconds(), period) / policy.slot_seconds).astype(np.int64)
    present = ~np.isnan(recent.values)
    fallback = recent.quantile(policy.floor_quantile)
    profile: list[float] = []
    for slot in range(n_slots):
        chosen = recent.values[present & (slots == slot)]
        profile.append(
            float(np.quantile(chosen, policy.floor_quantile)) if chosen.size else fallback
        )
    return SeasonalForecast(pattern, period, policy.slot_seconds, tuple(profile))


def lead(profile: tuple[float, ...], slots: int) -> tuple[float, ...]:
    """Each slot raised to the highest of itself and the next `slots` slots (cyclically)."""
    values = np.asarray(profile)
    led = values.copy()
    for shift in range(1, slots + 1):
        led = np.maximum(led, np.roll(values, -shift))
    return tuple(float(v) for v in led)


def replicas_for(demand: float, capacity: float, utilisation: float) -> int:
    """Replicas that serve `demand` with each at `utilisation` of `capacity` (at least one)."""
    if capacity <= 0 or utilisation <= 0:
        return 1
    return max(1, math.ceil(demand / (capacity * utilisation) - 1e-9))
