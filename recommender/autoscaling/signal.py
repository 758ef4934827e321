"""Scaling on a short-horizon forecast of demand: its recent level plus a safety margin.

A reactive HPA sizes replicas for the demand it last saw, so every burst above that is served
short until the metric, the scale-up and the new pods catch up. Scaling instead on the mean of
the last `window_seconds` of demand plus `z` standard deviations of it forecasts the next few
sync periods as "about as busy as lately, give or take its recent spread": a service whose load
jumps around keeps headroom in proportion to how much it has been jumping, and a steady one
runs close to its mean. KEDA's prometheus scaler evaluates the same formula in PromQL, so the
cluster scales on exactly what the replay scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from recommender.autoscaling.demand import DemandSeries


@dataclass(frozen=True, slots=True)
class DemandSignal:
    """Recent mean plus `z` standard deviations over `window_seconds`, trailing."""

    window_seconds: float
    z: float

    def window_minutes(self) -> int:
        """The window in whole minutes (PromQL ranges are written in them here)."""
        return max(1, round(self.window_seconds / 60))

    def apply(self, demand: DemandSeries) -> DemandSeries:
        """The signal at each sample, from that sample and those before it in the window.

        Gaps read as no demand, as the HPA replay reads them.
        """
        values = np.nan_to_num(demand.values, nan=0.0)
        if values.size == 0:
            return demand
        steps = max(1, round(self.window_seconds / demand.step_seconds))
        padded = np.concatenate([np.full(steps - 1, values[0]), values])
        windows = sliding_window_view(padded, steps)
        signal = windows.mean(axis=1) + self.z * windows.std(axis=1)
        return DemandSeries(demand.start, demand.step_seconds, signal)

    def promql(self, query: str) -> str:
        """`query` turned into the signal, over one-minute steps of the window."""
        series = f"({query})[{self.window_minutes()}m:1m]"
        return f"avg_over_time({series}) + {self.z:g} * stddev_over_time({series})"
