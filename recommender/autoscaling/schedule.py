"""A replica-floor schedule: `minReplicas` per slot of the demand cycle, and its time windows.

The floor covers the forecast, so the HPA (or KEDA) only has to react to surprises; off-peak it
falls, which is where the saving over a floor sized for the daily peak comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.autoscaling.demand import DemandSeries
from recommender.autoscaling.forecast import SeasonalForecast, forecast_demand, lead, replicas_for
from recommender.autoscaling.policy import ScalingPolicy


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    """`replicas` as the floor from `start_seconds` to `end_seconds` into the period."""

    start_seconds: float
    end_seconds: float
    replicas: int


@dataclass(frozen=True, slots=True)
class ReplicaSchedule:
    """The floor for each slot of a repeating period, and the forecast it came from."""

    forecast: SeasonalForecast
    replicas: tuple[int, ...]

    def floor_at(self, seconds: NDArray[np.float64]) -> NDArray[np.int64]:
        """The floor at each instant."""
        profile = np.asarray(self.replicas, dtype=np.int64)
        slot = self.forecast.slot_seconds
        slots = np.floor(np.mod(seconds, self.forecast.period_seconds) / slot).astype(np.int64)
        return profile[np.minimum(slots, profile.size - 1)]

    def windows(self) -> list[ScheduleWindow]:
        """Runs of equal floors, in period order (the fewest changes that express the schedule)."""
        slot = self.forecast.slot_seconds
        found: list[ScheduleWindow] = []
        for index, replicas in enumerate(self.replicas):
            if found and found[-1].replicas == replicas:
                last = found[-1]
                found[-1] = ScheduleWindow(last.start_seconds, (index + 1) * slot, replicas)
            else:
                found.append(ScheduleWindow(index * slot, (index + 1) * slot, replicas))
        return found

    @property
    def baseline(self) -> int:
        """The lowest floor: what `minReplicas` is outside every window."""
        return min(self.replicas)


def plan_schedule(history: DemandSeries, capacity: float, policy: ScalingPolicy) -> ReplicaSchedule:
    """The floor schedule for a workload with `capacity` per replica, from its demand history."""
    forecast = forecast_demand(history, policy)
    led = lead(forecast.demand, policy.lead_slots if len(forecast.demand) > 1 else 0)
    replicas = tuple(replicas_for(d, capacity, policy.floor_utilisation) for d in led)
    return ReplicaSchedule(forecast=forecast, replicas=replicas)
