"""Evidence of autoscaling advice: demand, replicas and proposed capacity over one day.

The console draws these as a chart; hourly points keep the recommendation small.
"""

from __future__ import annotations

import numpy as np
from pydantic import JsonValue

from recommender.autoscaling.demand import DemandSeries, resample
from recommender.autoscaling.hpa_algorithm import Replay
from recommender.autoscaling.pattern import DAY, HOUR, Pattern


def day_chart(
    demand: DemandSeries,
    current: Replay,
    proposed: Replay,
    capacity: float,
    unit: str = "cores",
) -> dict[str, JsonValue]:
    """Hourly demand, current and proposed replicas, and proposed capacity over the last day.

    `unit` names what demand and capacity count (cores, or GPUs for GPU duty).
    """
    last_day = demand.split(demand.end - DAY)[1]
    hourly = resample(last_day, HOUR) if last_day.step_seconds < HOUR else last_day
    ticks = max(1, round(HOUR / proposed.tick_seconds))
    n = last_day.values.size * max(1, round(demand.step_seconds / proposed.tick_seconds))

    def hourly_mean(replicas: np.ndarray) -> list[float]:
        tail = replicas[-n:] if n else replicas[:0]
        usable = tail[: tail.size - tail.size % ticks].reshape(-1, ticks)
        return [round(float(v), 2) for v in usable.mean(axis=1)]

    proposed_replicas = hourly_mean(proposed.replicas)
    current_replicas: list[JsonValue] = [*hourly_mean(current.replicas)]
    return {
        "unit": unit,
        "start": hourly.start,
        "step_seconds": hourly.step_seconds,
        "demand": [None if np.isnan(v) else round(float(v), 4) for v in hourly.values],
        "current_replicas": current_replicas,
        "proposed_replicas": [*proposed_replicas],
        "proposed_capacity": [round(r * capacity, 4) for r in proposed_replicas],
    }


def pattern_evidence(pattern: Pattern) -> dict[str, JsonValue]:
    """The detected cycle and how strong each candidate is."""
    return {
        "period": pattern.period.value,
        "daily_strength": round(pattern.daily_strength, 3),
        "weekly_strength": round(pattern.weekly_strength, 3),
    }
